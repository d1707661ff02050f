/* upload-alioss — the XML OSS speaks: error bodies, InitiateMultipartUpload's answer, and the
 * CompleteMultipartUpload request.
 *
 * OSS answers are flat: a root element whose children hold text (<Error><Code>...</Code>...).
 * oss_xml_parse() reads such a document with GMarkup into its root name and a table of the
 * children's text; nested elements deeper than one level are ignored.
 *
 * Pure (no I/O). Ownership: returned strings and tables are transfer full. Any thread.
 */
#ifndef OSS_XML_H
#define OSS_XML_H

#include <glib.h>

G_BEGIN_DECLS

/* Parses `body` (`len` bytes, or -1 for NUL-terminated). On success sets `*root` to the root
 * element's name and `*fields` to a table child name -> text (both g_free'd strings; the first
 * occurrence of a name wins) and returns TRUE. FALSE with `error` set when it is not XML. */
gboolean oss_xml_parse(const char *body, gssize len, char **root, GHashTable **fields,
                       GError **error);

/* What an OSS <Error> body says. Fields are NULL when absent. */
typedef struct {
  char *code;        /* "SignatureDoesNotMatch", "NoSuchBucket", ... */
  char *message;     /* the human sentence */
  char *request_id;  /* "RequestId", for support tickets */
  char *ec;          /* OSS's "EC" error number, e.g. "0002-00000040" */
  char *server_time; /* "ServerTime" of RequestTimeTooSkewed, ISO 8601 */
} OssErrorInfo;

/* TRUE and fills `info` when `body` is an OSS <Error> document; FALSE (info zeroed) otherwise. */
gboolean oss_xml_parse_error(const char *body, gssize len, OssErrorInfo *info);
void oss_error_info_clear(OssErrorInfo *info);

/* The UploadId of an <InitiateMultipartUploadResult>, or NULL with `error` set. */
char *oss_xml_parse_upload_id(const char *body, gssize len, GError **error);

/* The <CompleteMultipartUpload> body for parts 1..n with `etags[i]` for part i+1, exactly as
 * UploadPart returned them (quotes included); text is XML-escaped. */
char *oss_xml_complete_body(const char *const *etags, guint n);

G_END_DECLS

#endif /* OSS_XML_H */
