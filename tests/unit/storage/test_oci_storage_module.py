"""oci_storage run as Ansible runs it: validation without a store, secrets never in its output."""

from tests.unit.module_runner import run_module_file

SECRET = "Sup3r-s3cret-VALUE"


def test_filesystem_validates_without_probe(tmp_path):
    result = run_module_file("oci_storage", {"storage": {"type": "filesystem"}}, tmp_path)
    assert result.get("failed") is not True, result
    assert result["storage"] == {"type": "filesystem"} and result["probe"] == {} and result["changed"] is False


def test_s3_without_probe_returns_the_normalized_value_masked(tmp_path):
    storage = {"type": "s3", "s3": {"endpoint": "http://rgw.example:7480", "bucket": "registry",
                                    "access_key": "AKIDEXAMPLE", "secret_key": SECRET}}
    result = run_module_file("oci_storage", {"storage": storage, "probe": False}, tmp_path)
    assert result.get("failed") is not True, result
    assert result["storage"]["s3"]["secret_key"] == "********"
    assert result["storage"]["s3"]["chunk_size_mb"] == 10
    assert SECRET not in repr(result) and "AKIDEXAMPLE" not in repr(result)


def test_bad_input_fails_naming_the_variable_and_hides_the_secret(tmp_path):
    storage = {"type": "s3", "s3": {"bucket": "Bad_Bucket", "access_key": "AKIDEXAMPLE", "secret_key": SECRET,
                                    "chunk_size_mb": 2}}
    result = run_module_file("oci_storage", {"storage": storage, "variable": "distribution_storage"}, tmp_path)
    assert result["failed"] is True
    assert "distribution_storage.s3.bucket: 'Bad_Bucket' (str) is not a bucket name" in result["msg"]
    assert "distribution_storage.s3.chunk_size_mb: must be between 5 and 5120" in result["msg"]
    assert SECRET not in repr(result)
