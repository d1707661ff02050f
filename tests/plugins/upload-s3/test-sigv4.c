/* upload-s3: SigV4 signing against AWS's published S3 examples and botocore's signer.
 *
 * The four AWS vectors are the S3 "Signature Version 4, header-based auth" examples (credentials
 * AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, bucket examplebucket,
 * 20130524T000000Z, us-east-1). The special-key vectors were computed once with botocore's
 * S3SigV4Auth (the AWS SDK for Python's signer) over the same credentials and date, since AWS
 * publishes none for such keys; the e2e test also checks live requests against botocore.
 */
#include "sigv4.h"

#include <string.h>

#define AKID   "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE   "20130524T000000Z"
#define HOST   "examplebucket.s3.amazonaws.com"
#define EMPTY  S3_SIGV4_EMPTY_SHA256

static char *signature_of(const char *authorization)
{
  const char *s = strstr(authorization, "Signature=");
  g_assert_nonnull(s);
  return g_strdup(s + strlen("Signature="));
}

static void test_uri_encode(void)
{
  struct {
    const char *in;
    gboolean keep_slash;
    const char *out;
  } cases[] = {
      {"test.txt", TRUE, "test.txt"},
      {"test$file.text", TRUE, "test%24file.text"},
      {"my file.mp4", TRUE, "my%20file.mp4"},
      {"a+b.mp4", TRUE, "a%2Bb.mp4"},
      {"rooms/été/日本.mp4", TRUE, "rooms/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.mp4"},
      {"a//b/./c/../d", TRUE, "a//b/./c/../d"}, /* S3: no normalisation */
      {"A-Z_a-z.0-9~", TRUE, "A-Z_a-z.0-9~"},
      {"!'()*,:;=@&?#%", TRUE, "%21%27%28%29%2A%2C%3A%3B%3D%40%26%3F%23%25"},
      {"a/b", FALSE, "a%2Fb"},
      {"x=y+z", FALSE, "x%3Dy%2Bz"},
      {"", TRUE, ""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = s3_uri_encode(cases[i].in, cases[i].keep_slash);
    g_assert_cmpstr(got, ==, cases[i].out);
  }
}

static void test_canonical_query(void)
{
  const char *uploads[] = {"uploads", "", NULL};
  const char *part[] = {"uploadId", "VXBsb2FkIElE+x/y=", "partNumber", "2", NULL};
  const char *list[] = {"prefix", "J", "max-keys", "2", NULL};
  const char *same[] = {"b", "2", "a", "z", "a", "y", NULL};
  g_autofree char *q1 = s3_sigv4_canonical_query(uploads);
  g_autofree char *q2 = s3_sigv4_canonical_query(part);
  g_autofree char *q3 = s3_sigv4_canonical_query(list);
  g_autofree char *q4 = s3_sigv4_canonical_query(same);
  g_autofree char *q5 = s3_sigv4_canonical_query(NULL);
  g_assert_cmpstr(q1, ==, "uploads=");
  g_assert_cmpstr(q2, ==, "partNumber=2&uploadId=VXBsb2FkIElE%2Bx%2Fy%3D");
  g_assert_cmpstr(q3, ==, "max-keys=2&prefix=J");
  g_assert_cmpstr(q4, ==, "a=y&a=z&b=2");
  g_assert_cmpstr(q5, ==, "");
}

/* AWS example: GET /test.txt with Range, empty body. */
static void test_aws_get_object(void)
{
  const char *h[] = {"Host", HOST,         "Range", "bytes=0-9", "x-amz-content-sha256",
                     EMPTY,  "x-amz-date", DATE,    NULL};
  g_autofree char *signed_headers = NULL;
  g_autofree char *creq =
      s3_sigv4_canonical_request("GET", "/test.txt", "", h, EMPTY, &signed_headers);
  g_autofree char *sts = s3_sigv4_string_to_sign(DATE, "us-east-1", "s3", creq);
  g_autofree char *sig = s3_sigv4_signature(SECRET, DATE, "us-east-1", "s3", sts);
  g_autofree char *auth = s3_sigv4_authorization(AKID, SECRET, "us-east-1", "s3", DATE, "GET",
                                                 "/test.txt", "", h, EMPTY);

  g_assert_cmpstr(creq, ==,
                  "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                  "x-amz-content-sha256:" EMPTY "\nx-amz-date:20130524T000000Z\n\n"
                  "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
  g_assert_cmpstr(signed_headers, ==, "host;range;x-amz-content-sha256;x-amz-date");
  g_assert_cmpstr(sts, ==,
                  "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  g_assert_cmpstr(sig, ==, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  g_assert_cmpstr(auth, ==,
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                  "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* AWS example: PUT /test$file.text with a storage class and a Date header. */
static void test_aws_put_object(void)
{
  const char *body = "Welcome to Amazon S3.";
  g_autofree char *hash = s3_sha256_hex(body, strlen(body));
  g_autofree char *path = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *sig = NULL;
  g_assert_cmpstr(hash, ==, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  {
    g_autofree char *encoded = s3_uri_encode("test$file.text", TRUE);
    path = g_strconcat("/", encoded, NULL);
  }
  {
    const char *h[] = {"Host",
                       HOST,
                       "Date",
                       "Fri, 24 May 2013 00:00:00 GMT",
                       "x-amz-date",
                       DATE,
                       "x-amz-storage-class",
                       "REDUCED_REDUNDANCY",
                       "x-amz-content-sha256",
                       hash,
                       NULL};
    auth = s3_sigv4_authorization(AKID, SECRET, "us-east-1", "s3", DATE, "PUT", path, "", h, hash);
  }
  sig = signature_of(auth);
  g_assert_cmpstr(path, ==, "/test%24file.text");
  g_assert_cmpstr(sig, ==, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  g_assert_nonnull(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                                "x-amz-storage-class,"));
}

/* AWS examples: GET /?max-keys=2&prefix=J (list objects) and GET /?lifecycle (valueless). */
static void test_aws_bucket_queries(void)
{
  const char *h[] = {"Host", HOST, "x-amz-date", DATE, "x-amz-content-sha256", EMPTY, NULL};
  const char *list[] = {"prefix", "J", "max-keys", "2", NULL};
  const char *lifecycle[] = {"lifecycle", "", NULL};
  g_autofree char *q1 = s3_sigv4_canonical_query(list);
  g_autofree char *q2 = s3_sigv4_canonical_query(lifecycle);
  g_autofree char *a1 =
      s3_sigv4_authorization(AKID, SECRET, "us-east-1", "s3", DATE, "GET", "/", q1, h, EMPTY);
  g_autofree char *a2 =
      s3_sigv4_authorization(AKID, SECRET, "us-east-1", "s3", DATE, "GET", "", q2, h, EMPTY);
  g_autofree char *s1 = signature_of(a1);
  g_autofree char *s2 = signature_of(a2);
  g_assert_cmpstr(s1, ==, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  g_assert_cmpstr(s2, ==, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

static char *sign_put(const char *method, const char *key, const char *const *query,
                      const char *const *headers)
{
  g_autofree char *encoded = s3_uri_encode(key, TRUE);
  g_autofree char *path = g_strconcat("/", encoded, NULL);
  g_autofree char *q = s3_sigv4_canonical_query(query);
  g_autofree char *auth = s3_sigv4_authorization(AKID, SECRET, "us-east-1", "s3", DATE, method,
                                                 path, q, headers, EMPTY);
  return signature_of(auth);
}

/* Keys with a space, '+' and non-ASCII; expected values from botocore's S3SigV4Auth. */
static void test_botocore_special_keys(void)
{
  const char *h[] = {"host", HOST,           "x-amz-date", DATE, "x-amz-content-sha256",
                     EMPTY,  "content-type", "video/mp4",  NULL};
  g_autofree char *sig = sign_put("PUT", "my file+x/été 日本.mp4", NULL, h);
  g_assert_cmpstr(sig, ==, "cd6ac0fa35b6515fb28d3cb87e96b8434488cccbc17b1275a1d24f9d99b71c06");
}

/* CreateMultipartUpload (?uploads) with a session token, signed. */
static void test_botocore_session_token(void)
{
  const char *h[] = {"host",
                     HOST,
                     "x-amz-date",
                     DATE,
                     "x-amz-content-sha256",
                     EMPTY,
                     "x-amz-security-token",
                     "FQoGZXIvYXdzEXAMPLETOKEN/+==",
                     "content-type",
                     "video/mp4",
                     NULL};
  const char *q[] = {"uploads", "", NULL};
  g_autofree char *sig = sign_put("POST", "rec/a+b.mp4", q, h);
  g_assert_cmpstr(sig, ==, "3e1a5cd6c43bea0e64e28c2ffa49e286916f687a72ac73cfedd3549c299fb948");
}

/* UploadPart with an upload id that needs encoding in the query. */
static void test_botocore_upload_part(void)
{
  const char *h[] = {"host",
                     HOST,
                     "x-amz-date",
                     DATE,
                     "x-amz-content-sha256",
                     EMPTY,
                     "content-type",
                     "application/octet-stream",
                     NULL};
  const char *q[] = {"partNumber", "2", "uploadId", "VXBsb2FkIElE+x/y=", NULL};
  g_autofree char *sig = sign_put("PUT", "rec/a.mp4", q, h);
  g_assert_cmpstr(sig, ==, "aa5987798c24eac7f9f90fb8bb2ff1817517eb91199134d53f4dd550eb9bd95d");
}

/* Object headers: mixed-case names, runs of spaces collapsed, values trimmed. */
static void test_botocore_object_headers(void)
{
  const char *h[] = {"host",
                     HOST,
                     "x-amz-date",
                     DATE,
                     "x-amz-content-sha256",
                     EMPTY,
                     "Content-Disposition",
                     "inline;  filename=\"a  b.mp4\"  ",
                     "x-amz-meta-Room",
                     "lobby",
                     "x-amz-tagging",
                     "k=v&a=b%20c",
                     NULL};
  g_autofree char *signed_headers = NULL;
  g_autofree char *creq =
      s3_sigv4_canonical_request("PUT", "/rec/a.mp4", "", h, EMPTY, &signed_headers);
  g_autofree char *sig = sign_put("PUT", "rec/a.mp4", NULL, h);
  g_assert_nonnull(strstr(creq, "\ncontent-disposition:inline; filename=\"a b.mp4\"\n"));
  g_assert_nonnull(strstr(creq, "\nx-amz-meta-room:lobby\n"));
  g_assert_cmpstr(signed_headers, ==,
                  "content-disposition;host;x-amz-content-sha256;x-amz-date;x-amz-meta-room;"
                  "x-amz-tagging");
  g_assert_cmpstr(sig, ==, "f40cd32f2007e8c0f75f5d466faba09a1ad375ba744c863b3ae1d7aaafd8c045");
}

static void test_repeated_header(void)
{
  const char *h[] = {"X-Amz-Meta-A", "1", "host", "h", "x-amz-meta-a", "2", NULL};
  g_autofree char *names = NULL;
  g_autofree char *creq = s3_sigv4_canonical_request("GET", "/", "", h, EMPTY, &names);
  g_assert_cmpstr(creq, ==, "GET\n/\n\nhost:h\nx-amz-meta-a:1,2\n\nhost;x-amz-meta-a\n" EMPTY);
  g_assert_cmpstr(names, ==, "host;x-amz-meta-a");
}

static void test_amz_date_and_scope(void)
{
  g_autofree char *d = s3_sigv4_amz_date(1369353600); /* 2013-05-24T00:00:00Z */
  g_autofree char *d2 = s3_sigv4_amz_date(1700000000);
  g_autofree char *scope = s3_sigv4_scope(d2, "eu-west-1", "s3");
  g_assert_cmpstr(d, ==, DATE);
  g_assert_cmpstr(d2, ==, "20231114T221320Z");
  g_assert_cmpstr(scope, ==, "20231114/eu-west-1/s3/aws4_request");
}

static void test_sha256(void)
{
  g_autofree char *e = s3_sha256_hex("", 0);
  g_autofree char *abc = s3_sha256_hex("abc", 3);
  g_assert_cmpstr(e, ==, EMPTY);
  g_assert_cmpstr(abc, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/upload-s3/sigv4/uri-encode", test_uri_encode);
  g_test_add_func("/upload-s3/sigv4/canonical-query", test_canonical_query);
  g_test_add_func("/upload-s3/sigv4/aws-get-object", test_aws_get_object);
  g_test_add_func("/upload-s3/sigv4/aws-put-object", test_aws_put_object);
  g_test_add_func("/upload-s3/sigv4/aws-bucket-queries", test_aws_bucket_queries);
  g_test_add_func("/upload-s3/sigv4/botocore-special-keys", test_botocore_special_keys);
  g_test_add_func("/upload-s3/sigv4/botocore-session-token", test_botocore_session_token);
  g_test_add_func("/upload-s3/sigv4/botocore-upload-part", test_botocore_upload_part);
  g_test_add_func("/upload-s3/sigv4/botocore-object-headers", test_botocore_object_headers);
  g_test_add_func("/upload-s3/sigv4/repeated-header", test_repeated_header);
  g_test_add_func("/upload-s3/sigv4/amz-date-and-scope", test_amz_date_and_scope);
  g_test_add_func("/upload-s3/sigv4/sha256", test_sha256);
  return g_test_run();
}
