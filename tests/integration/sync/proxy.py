"""A TCP proxy on 127.0.0.1 in front of a registry, that misbehaves on purpose.

- ``cut_responses_over``: the first response whose Content-Length is at least this many bytes is cut
  after half of its body (the connection to the client is closed): a source that drops the
  connection mid-blob. Later responses pass untouched.
- ``stall_after_blob_gets``: after that many ``GET /v2/.../blobs/...`` requests, the next one is
  never forwarded: the client hangs mid-run, for a test to kill it there.
"""

import re
import socket
import threading

_CONTENT_LENGTH = re.compile(rb"\r\nContent-Length: (\d+)\r\n", re.IGNORECASE)
_BLOB_GET = re.compile(rb"GET /v2/\S+/blobs/sha256:")


class Proxy:
    def __init__(self, upstream_port, cut_responses_over=None, stall_after_blob_gets=None):
        self.upstream = ("127.0.0.1", upstream_port)
        self.cut_responses_over = cut_responses_over
        self.stall_after_blob_gets = stall_after_blob_gets
        self.cuts = 0
        self.blob_gets = 0
        self.stalled = threading.Event()
        self._lock = threading.Lock()
        self._sockets = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._closed = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def close(self):
        self._closed = True
        for sock in [self._listener] + self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self):
        while not self._closed:
            try:
                client = self._listener.accept()[0]
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client), daemon=True).start()

    def _requests(self, client, upstream):
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if self.stall_after_blob_gets is not None:
                    with self._lock:
                        gets = len(_BLOB_GET.findall(data))
                        if gets and self.blob_gets + gets > self.stall_after_blob_gets:
                            self.stalled.set()
                            return  # never forwarded: the client waits for an answer that does not come
                        self.blob_gets += gets
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            if not self.stalled.is_set():
                _shutdown(upstream)

    def _responses(self, upstream, client):
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                cut_at = self._cut_point(data)
                if cut_at is not None:
                    client.sendall(data[:cut_at])
                    _close(client, upstream)
                    return
                client.sendall(data)
        except OSError:
            pass
        finally:
            _shutdown(client)

    def _cut_point(self, data):
        """Where to cut ``data``: half way into the body of the first large response, once."""
        if self.cut_responses_over is None:
            return None
        with self._lock:
            if self.cuts:
                return None
            match = _CONTENT_LENGTH.search(data)
            if not match or int(match.group(1)) < self.cut_responses_over:
                return None
            end = data.find(b"\r\n\r\n", match.start())
            if end < 0:
                return None
            self.cuts += 1
            return min(len(data), end + 4 + int(match.group(1)) // 2)


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _close(*sockets):
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
