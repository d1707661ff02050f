/* upload-alioss: OSS's XML documents (oss-xml.c). The error and result bodies are shaped as OSS
 * documents them (help.aliyun.com, "Error responses", InitiateMultipartUpload). */
#include "oss-xml.h"

#include <string.h>

static const char signature_error[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error>\n"
    "  <Code>SignatureDoesNotMatch</Code>\n"
    "  <Message>The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.</Message>\n"
    "  <RequestId>65E6D1F6E8D2A13437AE5B2C</RequestId>\n"
    "  <HostId>media.oss-cn-hangzhou.aliyuncs.com</HostId>\n"
    "  <OSSAccessKeyId>LTAI5tExampleKeyId</OSSAccessKeyId>\n"
    "  <SignatureProvided>ee0b9a18</SignatureProvided>\n"
    "  <StringToSign>PUT\n\nvideo/mp4\nx-oss-date:Tue &amp; co\n/media/a</StringToSign>\n"
    "  <EC>0002-00000040</EC>\n"
    "</Error>\n";

static void test_error(void)
{
  OssErrorInfo info;
  g_assert_true(oss_xml_parse_error(signature_error, -1, &info));
  g_assert_cmpstr(info.code, ==, "SignatureDoesNotMatch");
  g_assert_true(g_str_has_prefix(info.message, "The request signature we calculated"));
  g_assert_cmpstr(info.request_id, ==, "65E6D1F6E8D2A13437AE5B2C");
  g_assert_cmpstr(info.ec, ==, "0002-00000040");
  g_assert_null(info.server_time);
  oss_error_info_clear(&info);
  g_assert_null(info.code);
}

static void test_error_skew(void)
{
  static const char body[] = "<Error><Code>RequestTimeTooSkewed</Code>"
                             "<Message>The difference between the request time and the current "
                             "time is too large.</Message>"
                             "<RequestTime>Tue, 05 Mar 2024 08:09:10 GMT</RequestTime>"
                             "<ServerTime>2024-03-05T09:30:00.000Z</ServerTime></Error>";
  OssErrorInfo info;
  g_assert_true(oss_xml_parse_error(body, (gssize)strlen(body), &info));
  g_assert_cmpstr(info.code, ==, "RequestTimeTooSkewed");
  g_assert_cmpstr(info.server_time, ==, "2024-03-05T09:30:00.000Z");
  oss_error_info_clear(&info);
}

/* Only the root's own children count: a nested <Code> does not replace the error's. */
static void test_error_nested(void)
{
  static const char body[] =
      "<Error><Detail><Code>Inner</Code></Detail><Code>Outer</Code><Code>Second</Code></Error>";
  OssErrorInfo info;
  g_assert_true(oss_xml_parse_error(body, -1, &info));
  g_assert_cmpstr(info.code, ==, "Outer");
  oss_error_info_clear(&info);
}

static void test_not_errors(void)
{
  static const char *const bodies[] = {
      "",
      "not xml at all",
      "<html><body>502 Bad Gateway</body></html>",
      "<Error><Code>Truncated",
      "<InitiateMultipartUploadResult><UploadId>X</UploadId></InitiateMultipartUploadResult>",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
    OssErrorInfo info;
    g_assert_false(oss_xml_parse_error(bodies[i], -1, &info));
    g_assert_null(info.code);
    g_assert_null(info.message);
  }
  {
    OssErrorInfo info;
    g_assert_false(oss_xml_parse_error(NULL, 0, &info));
  }
}

static void test_upload_id(void)
{
  static const char body[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<InitiateMultipartUploadResult>\n"
                             "  <Bucket>media</Bucket>\n"
                             "  <Key>dir/a b.mp4</Key>\n"
                             "  <UploadId>0004B9894A22E5B1888A1E29F823****</UploadId>\n"
                             "</InitiateMultipartUploadResult>\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *id = oss_xml_parse_upload_id(body, -1, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(id, ==, "0004B9894A22E5B1888A1E29F823****");
}

static void test_upload_id_missing(void)
{
  static const char *const bodies[] = {
      "<InitiateMultipartUploadResult><Bucket>media</Bucket></InitiateMultipartUploadResult>",
      "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
      "<Error><Code>AccessDenied</Code></Error>",
      "{\"UploadId\": \"json\"}",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *id = oss_xml_parse_upload_id(bodies[i], -1, &error);
    g_assert_null(id);
    g_assert_nonnull(error);
  }
}

static void test_complete_body(void)
{
  const char *etags[] = {"\"3858F62230AC3C915F300C664312C11F\"", "\"A&B<C>\""};
  g_autofree char *xml = oss_xml_complete_body(etags, 2);
  g_autofree char *root = NULL;
  g_autoptr(GHashTable) fields = NULL;
  g_assert_cmpstr(
      xml, ==,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CompleteMultipartUpload>\n"
      "<Part><PartNumber>1</PartNumber><ETag>&quot;3858F62230AC3C915F300C664312C11F"
      "&quot;</ETag></Part>\n"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;A&amp;B&lt;C&gt;&quot;</ETag></Part>\n"
      "</CompleteMultipartUpload>\n");
  /* and it is well-formed */
  g_assert_true(oss_xml_parse(xml, -1, &root, &fields, NULL));
  g_assert_cmpstr(root, ==, "CompleteMultipartUpload");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/alioss/xml/error", test_error);
  g_test_add_func("/alioss/xml/error-skew", test_error_skew);
  g_test_add_func("/alioss/xml/error-nested", test_error_nested);
  g_test_add_func("/alioss/xml/not-errors", test_not_errors);
  g_test_add_func("/alioss/xml/upload-id", test_upload_id);
  g_test_add_func("/alioss/xml/upload-id-missing", test_upload_id_missing);
  g_test_add_func("/alioss/xml/complete-body", test_complete_body);
  return g_test_run();
}
