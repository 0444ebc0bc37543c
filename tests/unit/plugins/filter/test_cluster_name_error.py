from ansible_collections.kinc.kinc.plugins.filter.cluster_name_error import FilterModule


def test_valid_name_has_no_error():
    assert FilterModule().filters()['cluster_name_error']('dev-1') == ''


def test_bad_name_error_names_field_value_and_fix():
    message = FilterModule().filters()['cluster_name_error']('Bad_Name', 'kinc_clusters[1].name')
    assert message.startswith("kinc_clusters[1].name 'Bad_Name' is not a DNS-1123 label")
    assert "for example 'dev-1'" in message


def test_too_long_name_is_refused():
    message = FilterModule().filters()['cluster_name_error']('a' * 41)
    assert message.startswith("name '%s' is 41 characters long" % ('a' * 41))
