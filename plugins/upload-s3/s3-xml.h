/* upload-s3 — the few XML documents S3 and STS exchange during an upload. No I/O.
 *
 * Every S3 answer this plugin needs to read is one flat element whose interesting children are
 * text-only: <Error> (Code, Message, RequestId, Region), <InitiateMultipartUploadResult>
 * (UploadId) and <CompleteMultipartUploadResult> (Location, ETag); STS nests deeper
 * (AssumeRoleResponse/AssumeRoleResult/Credentials/AccessKeyId, ErrorResponse/Error/Code). One
 * parser serves both: it keeps the text of every element that has no element children, keyed by
 * its path from the document element (s3_xml_parse_paths); S3XmlDoc is the view of it that S3's
 * flat answers need, the document element's name and its text-only children. It is GLib's GMarkup
 * underneath: no new dependency, entities (&quot; in ETags) decoded, an XML declaration and
 * leading whitespace (S3 streams blanks while it assembles a multipart object) accepted.
 *
 * Ownership: S3XmlDoc and everything returned are transfer full; inputs transfer none.
 * Threading: pure functions, any thread.
 */
#ifndef S3_XML_H
#define S3_XML_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *root;         /* name of the document element */
  GHashTable *fields; /* name of a direct child -> its text (the first of that name) */
} S3XmlDoc;

/* Parses `len` bytes (need not be NUL-terminated). NULL with `error` when the body is not a
 * well-formed XML document. */
S3XmlDoc *s3_xml_parse(const char *body, gsize len, GError **error);
void s3_xml_doc_free(S3XmlDoc *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(S3XmlDoc, s3_xml_doc_free)

/* Text of the direct child `name`, or NULL (transfer none, valid while `doc` is). */
const char *s3_xml_doc_get(const S3XmlDoc *doc, const char *name);

/* The text of every element without element children, keyed by its path from the document
 * element ("A/B/C"); the first element of a path wins. GHashTable of char* -> char*, transfer
 * full. NULL with `error` when the body is not a well-formed XML document. */
GHashTable *s3_xml_parse_paths(const char *body, gsize len, GError **error);

/* An S3 (or STS) error answer, as far as the body told it. */
typedef struct {
  char *code;        /* "SignatureDoesNotMatch", ...; NULL when the body was not an <Error> */
  char *message;     /* S3's human text; may be NULL */
  char *region;      /* <Region>, sent with AuthorizationHeaderMalformed; may be NULL */
  char *server_time; /* <ServerTime>, sent with RequestTimeTooSkewed; may be NULL */
  char *type;        /* STS's <Type>: "Sender" or "Receiver"; NULL for S3 */
} S3XmlError;

/* TRUE when the body is an <Error> document; fills `out` (clear it with s3_xml_error_clear). */
gboolean s3_xml_parse_error(const char *body, gsize len, S3XmlError *out);
void s3_xml_error_clear(S3XmlError *err);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(S3XmlError, s3_xml_error_clear)

/* TRUE when the body is an STS error: ErrorResponse/Error/{Type,Code,Message} (also
 * ErrorResponse/Errors/Error, as moto nests it, or a bare <Error>, as some S3-compatible servers
 * answer); fills `out` as s3_xml_parse_error does. */
gboolean s3_xml_parse_sts_error(const char *body, gsize len, S3XmlError *out);

/* The temporary credentials of an STS AssumeRole answer,
 * AssumeRoleResponse/AssumeRoleResult/Credentials/{AccessKeyId,SecretAccessKey,SessionToken,
 * Expiration}. Clear with s3_xml_credentials_clear, which also overwrites the secret. */
typedef struct {
  char *access_key_id;
  char *secret_access_key;
  char *session_token;
  gint64 expiration; /* Unix time in seconds, from the ISO 8601 <Expiration> */
} S3XmlCredentials;

/* Fills `out` from an AssumeRole answer; FALSE with `error` (S3_ERROR_PROTOCOL) when the body is
 * not one, or lacks a key, a secret, a token or a readable expiration. */
gboolean s3_xml_parse_assume_role(const char *body, gsize len, S3XmlCredentials *out,
                                  GError **error);
void s3_xml_credentials_clear(S3XmlCredentials *creds);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(S3XmlCredentials, s3_xml_credentials_clear)

/* The UploadId of an InitiateMultipartUploadResult; NULL with `error` otherwise. */
char *s3_xml_parse_upload_id(const char *body, gsize len, GError **error);

/* The CompleteMultipartUpload request body for `n` parts numbered 1..n whose ETags (with their
 * quotes, as UploadPart returned them) are etags[0..n-1]. */
char *s3_xml_complete_body(const char *const *etags, guint n);

G_END_DECLS

#endif /* S3_XML_H */
