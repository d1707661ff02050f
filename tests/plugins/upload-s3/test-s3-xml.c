/* upload-s3: reading S3's XML answers and writing the CompleteMultipartUpload body. */
#include "s3-error.h"
#include "s3-xml.h"

#include <string.h>

#define PARSE_ERROR(body, out) s3_xml_parse_error(body, strlen(body), out)

static void test_error_document(void)
{
  const char *body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
      "does not match the signature you provided.</Message><AWSAccessKeyId>AKIA</AWSAccessKeyId>"
      "<StringToSign>AWS4-HMAC-SHA256\n...</StringToSign><CanonicalRequest>PUT\n/a&amp;b"
      "</CanonicalRequest><RequestId>4442587FB7D0A2F9</RequestId></Error>";
  g_auto(S3XmlError) e = {0};
  g_assert_true(PARSE_ERROR(body, &e));
  g_assert_cmpstr(e.code, ==, "SignatureDoesNotMatch");
  g_assert_cmpstr(e.message, ==,
                  "The request signature we calculated does not match the signature you "
                  "provided.");
  g_assert_null(e.region);
}

static void test_error_with_region_and_time(void)
{
  const char *redirect = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                         "'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
                         "<Region>eu-west-1</Region><RequestId>X</RequestId></Error>";
  const char *skew = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between "
                     "the request time and the current time is too large.</Message><RequestTime>"
                     "20240101T000000Z</RequestTime><ServerTime>2024-01-01T01:00:00Z</ServerTime>"
                     "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>";
  g_auto(S3XmlError) a = {0};
  g_auto(S3XmlError) b = {0};
  g_assert_true(PARSE_ERROR(redirect, &a));
  g_assert_cmpstr(a.region, ==, "eu-west-1");
  g_assert_true(PARSE_ERROR(skew, &b));
  g_assert_cmpstr(b.code, ==, "RequestTimeTooSkewed");
  g_assert_cmpstr(b.server_time, ==, "2024-01-01T01:00:00Z");
}

/* CompleteMultipartUpload may answer 200, stream blanks while it works, then an <Error>. */
static void test_complete_200_with_error(void)
{
  const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n     \n        \n"
                     "<Error><Code>InternalError</Code><Message>We encountered an internal "
                     "error. Please try again.</Message><RequestId>656c76696e6727732072657175"
                     "</RequestId><HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOF"
                     "g==</HostId></Error>";
  g_auto(S3XmlError) e = {0};
  g_assert_true(PARSE_ERROR(body, &e));
  g_assert_cmpstr(e.code, ==, "InternalError");
  g_assert_cmpstr(e.message, ==, "We encountered an internal error. Please try again.");
}

static void test_not_an_error(void)
{
  const char *ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/"
                   "2006-03-01/\"><Location>https://b.s3.amazonaws.com/k</Location><Bucket>b"
                   "</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;"
                   "</ETag></CompleteMultipartUploadResult>";
  g_autoptr(S3XmlDoc) doc = s3_xml_parse(ok, strlen(ok), NULL);
  g_auto(S3XmlError) e = {0};
  g_auto(S3XmlError) cut = {0};
  g_auto(S3XmlError) empty = {0};
  g_assert_false(PARSE_ERROR(ok, &e));
  g_assert_null(e.code);
  g_assert_nonnull(doc);
  g_assert_cmpstr(doc->root, ==, "CompleteMultipartUploadResult");
  g_assert_cmpstr(s3_xml_doc_get(doc, "ETag"), ==, "\"3858f62230ac3c915f300c664312c11f-9\"");
  g_assert_cmpstr(s3_xml_doc_get(doc, "Key"), ==, "k");
  g_assert_false(PARSE_ERROR("<Error><Code>Intern", &cut));
  g_assert_false(s3_xml_parse_error(NULL, 0, &empty));
}

static void test_truncated_and_garbage(void)
{
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autoptr(GError) e3 = NULL;
  const char *blanks = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n        \n   ";
  g_assert_null(s3_xml_parse(blanks, strlen(blanks), &e1));
  g_assert_nonnull(e1);
  g_assert_null(s3_xml_parse("<html>oops", 10, &e2));
  g_assert_nonnull(e2);
  g_assert_null(s3_xml_parse("", 0, &e3));
  g_assert_error(e3, S3_ERROR, S3_ERROR_PROTOCOL);
}

static void test_upload_id(void)
{
  const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/"
                     "2006-03-01/\"><Bucket>example-bucket</Bucket><Key>example-object</Key>"
                     "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA"
                     "</UploadId></InitiateMultipartUploadResult>";
  const char *other = "<ListBucketResult><Name>b</Name></ListBucketResult>";
  const char *nested = "<InitiateMultipartUploadResult><UploadId><X>1</X></UploadId>"
                       "</InitiateMultipartUploadResult>";
  g_autoptr(GError) err = NULL;
  g_autoptr(GError) err2 = NULL;
  g_autofree char *id = s3_xml_parse_upload_id(body, strlen(body), NULL);
  g_assert_cmpstr(id, ==, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  g_assert_null(s3_xml_parse_upload_id(other, strlen(other), &err));
  g_assert_error(err, S3_ERROR, S3_ERROR_PROTOCOL);
  g_assert_nonnull(strstr(err->message, "ListBucketResult"));
  g_assert_null(s3_xml_parse_upload_id(nested, strlen(nested), &err2));
}

static void test_complete_body(void)
{
  const char *etags[] = {"\"a54357aff0632cce46d942af68356b38\"",
                         "\"0c78aef83f66abc1fa1e8477f296d394\"",
                         "\"acbd18db4cc2f85cedef654fccc4a4d8\""};
  g_autofree char *body = s3_xml_complete_body(etags, 3);
  g_autoptr(S3XmlDoc) doc = s3_xml_parse(body, strlen(body), NULL);
  g_assert_cmpstr(body, ==,
                  "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                  "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38"
                  "&quot;</ETag></Part>"
                  "<Part><PartNumber>2</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394"
                  "&quot;</ETag></Part>"
                  "<Part><PartNumber>3</PartNumber><ETag>&quot;acbd18db4cc2f85cedef654fccc4a4d8"
                  "&quot;</ETag></Part></CompleteMultipartUpload>");
  g_assert_nonnull(doc); /* well-formed */
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-s3/xml/error", test_error_document);
  g_test_add_func("/upload-s3/xml/error-region-time", test_error_with_region_and_time);
  g_test_add_func("/upload-s3/xml/complete-200-with-error", test_complete_200_with_error);
  g_test_add_func("/upload-s3/xml/not-an-error", test_not_an_error);
  g_test_add_func("/upload-s3/xml/truncated", test_truncated_and_garbage);
  g_test_add_func("/upload-s3/xml/upload-id", test_upload_id);
  g_test_add_func("/upload-s3/xml/complete-body", test_complete_body);
  return g_test_run();
}
