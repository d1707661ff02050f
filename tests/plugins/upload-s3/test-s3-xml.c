/* upload-s3: reading S3's and STS's XML answers and writing the CompleteMultipartUpload body. */
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

/* The shape of an STS AssumeRole answer (AWS's documented example, abridged): the credentials
 * four levels down, the token wrapped over lines with surrounding blanks. */
static const char assume_role_ok[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/sluice-1</Arn>\n"
    "      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:sluice-1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>\n       "
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW"
    "LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8"
    "phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0"
    "iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
    "      </SessionToken>\n"
    "      <Expiration>2026-11-21T18:04:05Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>"
    "</ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_paths(void)
{
  const char *body = "<?xml version=\"1.0\"?><A><B><C>1</C><C>2</C><D>x&amp;y</D></B><E/>"
                     "<B><C>3</C></B><F>t<G>g</G>u</F></A>";
  g_autoptr(GHashTable) p = s3_xml_parse_paths(body, strlen(body), NULL);
  g_autoptr(GError) err = NULL;
  g_assert_nonnull(p);
  g_assert_cmpstr(g_hash_table_lookup(p, "A/B/C"), ==, "1"); /* the first of a path */
  g_assert_cmpstr(g_hash_table_lookup(p, "A/B/D"), ==, "x&y");
  g_assert_cmpstr(g_hash_table_lookup(p, "A/E"), ==, "");
  g_assert_cmpstr(g_hash_table_lookup(p, "A/F/G"), ==, "g");
  g_assert_false(g_hash_table_contains(p, "A/B")); /* elements with children have no text */
  g_assert_false(g_hash_table_contains(p, "A/F"));
  g_assert_false(g_hash_table_contains(p, "A"));
  g_assert_cmpuint(g_hash_table_size(p), ==, 4);
  g_assert_null(s3_xml_parse_paths("<A><B>", 6, &err));
  g_assert_nonnull(err);
}

/* `s` with every `from` replaced by `to`. */
static char *replaced(const char *s, const char *from, const char *to)
{
  GString *out = g_string_new(s);
  g_assert_cmpuint(g_string_replace(out, from, to, 0), >, 0);
  return g_string_free(out, FALSE);
}

static void test_assume_role(void)
{
  g_auto(S3XmlCredentials) c = {0};
  g_auto(S3XmlCredentials) frac = {0};
  g_auto(S3XmlCredentials) offset = {0};
  g_autoptr(GError) err = NULL;
  g_autofree char *with_fraction = replaced(assume_role_ok, "18:04:05Z", "18:04:05.123456Z");
  g_autofree char *with_offset =
      replaced(assume_role_ok, "2026-11-21T18:04:05Z", "2026-11-21T19:04:05+01:00");

  g_assert_true(s3_xml_parse_assume_role(assume_role_ok, strlen(assume_role_ok), &c, &err));
  g_assert_no_error(err);
  g_assert_cmpstr(c.access_key_id, ==, "ASIAIOSFODNN7EXAMPLE");
  g_assert_cmpstr(c.secret_access_key, ==, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  g_assert_true(g_str_has_prefix(c.session_token, "AQoDYXdzEPT//////////wEXAMPLE"));
  g_assert_true(g_str_has_suffix(c.session_token, "CCR/oLxBA=="));
  g_assert_null(strpbrk(c.session_token, " \n"));
  g_assert_cmpint(c.expiration, ==, 1795284245); /* 2026-11-21T18:04:05Z */

  /* Fractional seconds and an explicit offset. */
  g_assert_true(s3_xml_parse_assume_role(with_fraction, strlen(with_fraction), &frac, NULL));
  g_assert_cmpint(frac.expiration, ==, 1795284245);
  g_assert_true(s3_xml_parse_assume_role(with_offset, strlen(with_offset), &offset, NULL));
  g_assert_cmpint(offset.expiration, ==, 1795284245);

  s3_xml_credentials_clear(&c);
  g_assert_null(c.secret_access_key);
}

static void expect_not_credentials(const char *body, const char *fragment)
{
  g_auto(S3XmlCredentials) c = {0};
  g_autoptr(GError) err = NULL;
  g_assert_false(s3_xml_parse_assume_role(body, strlen(body), &c, &err));
  g_assert_error(err, S3_ERROR, S3_ERROR_PROTOCOL);
  if (strstr(err->message, fragment) == NULL)
    g_error("\"%s\" does not mention \"%s\"", err->message, fragment);
  g_assert_null(c.access_key_id);
  g_assert_null(c.secret_access_key);
}

static void test_assume_role_incomplete(void)
{
  g_autofree char *no_token = replaced(assume_role_ok, "SessionToken>", "Token>");
  g_autofree char *empty_secret =
      replaced(assume_role_ok, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>",
               "</SecretAccessKey>");
  g_autofree char *bad_time = replaced(assume_role_ok, "2026-11-21T18:04:05Z", "next tuesday");
  g_autofree char *no_time = replaced(assume_role_ok, "Expiration>", "Expiry>");
  expect_not_credentials(no_token, "SessionToken");
  expect_not_credentials(empty_secret, "SecretAccessKey");
  expect_not_credentials(bad_time, "next tuesday");
  expect_not_credentials(no_time, "Expiration");
  expect_not_credentials("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>",
                         "AccessKeyId");
  expect_not_credentials("", "empty");
  expect_not_credentials("<AssumeRoleResponse><AssumeRoleResult>", "");
}

static void test_sts_error(void)
{
  const char *denied =
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
      "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
      "    <Message>User: arn:aws:iam::123456789012:user/rec is not authorized to perform: "
      "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/nope</Message>\n  </Error>\n"
      "  <RequestId>4a1a7d7e-0000-4000-8000-000000000000</RequestId>\n</ErrorResponse>\n";
  const char *malformed = "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
                          "<Message>nope is invalid</Message></Error></ErrorResponse>";
  const char *bare = "<Error><Code>InvalidClientTokenId</Code><Message>The security token "
                     "included in the request is invalid.</Message></Error>";
  const char *moto = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error>"
                     "<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/rec "
                     "is not authorized to perform: sts:AssumeRole</Message><Type>Sender</Type>"
                     "</Error></Errors></ErrorResponse>";
  const char *no_code = "<ErrorResponse><Error><Message>?</Message></Error></ErrorResponse>";
  g_auto(S3XmlError) a = {0};
  g_auto(S3XmlError) b = {0};
  g_auto(S3XmlError) c = {0};
  g_auto(S3XmlError) d = {0};
  g_auto(S3XmlError) m = {0};
  g_auto(S3XmlError) ok = {0};
  g_auto(S3XmlError) junk = {0};

  g_assert_true(s3_xml_parse_sts_error(denied, strlen(denied), &a));
  g_assert_cmpstr(a.type, ==, "Sender");
  g_assert_cmpstr(a.code, ==, "AccessDenied");
  g_assert_cmpstr(a.message, ==,
                  "User: arn:aws:iam::123456789012:user/rec is not authorized to perform: "
                  "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/nope");
  g_assert_true(s3_xml_parse_sts_error(malformed, strlen(malformed), &b));
  g_assert_cmpstr(b.code, ==, "ValidationError");
  g_assert_cmpstr(b.message, ==, "nope is invalid");
  g_assert_true(s3_xml_parse_sts_error(bare, strlen(bare), &c));
  g_assert_cmpstr(c.code, ==, "InvalidClientTokenId");
  g_assert_null(c.type);
  g_assert_true(s3_xml_parse_sts_error(moto, strlen(moto), &m));
  g_assert_cmpstr(m.code, ==, "AccessDenied");
  g_assert_cmpstr(m.type, ==, "Sender");
  g_assert_true(g_str_has_prefix(m.message, "User: arn:aws:iam::123456789012:user/rec is not"));
  g_assert_true(s3_xml_parse_sts_error(no_code, strlen(no_code), &d));
  g_assert_cmpstr(d.code, ==, "UnknownError");
  g_assert_false(s3_xml_parse_sts_error(assume_role_ok, strlen(assume_role_ok), &ok));
  g_assert_null(ok.code);
  g_assert_false(s3_xml_parse_sts_error("<html>502 Bad Gateway", 22, &junk));
  g_assert_null(junk.code);
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
  g_test_add_func("/upload-s3/xml/paths", test_paths);
  g_test_add_func("/upload-s3/xml/assume-role", test_assume_role);
  g_test_add_func("/upload-s3/xml/assume-role-incomplete", test_assume_role_incomplete);
  g_test_add_func("/upload-s3/xml/sts-error", test_sts_error);
  return g_test_run();
}
