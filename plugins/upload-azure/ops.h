/* upload-azure — the three Blob service operations an upload uses, built as unsigned requests.
 *
 *   Put Blob        PUT <blob>                            x-ms-blob-type: BlockBlob, the blob's
 *                                                         Content-Type, the whole body
 *   Put Block       PUT <blob>?comp=block&blockid=<id>    one block; the id (base64) is
 *                                                         percent-encoded in the query
 *   Put Block List  PUT <blob>?comp=blocklist             the XML list, Content-Type
 *                                                         application/xml, the blob's type in
 *                                                         x-ms-blob-content-type
 * All three send x-ms-version AZ_API_VERSION and Content-Length, and Content-MD5 (base64 of the
 * MD5 of the body, which the service verifies) when given one: Put Block and Put Block List always
 * are; a Put Blob streamed from disk is checked afterwards instead (upload.h). http.c adds
 * x-ms-date and Authorization per attempt.
 *
 * Version 2021-08-06: Put Blob takes up to 5000 MiB and blocks up to 4000 MiB; Azurite 3.37
 * accepts it without --skipApiVersionCheck.
 *
 * Ownership: requests are transfer full (az_request_free). Threading: pure and reentrant.
 */
#ifndef AZ_OPS_H
#define AZ_OPS_H

#include "request.h"
#include "target.h"

G_BEGIN_DECLS

#define AZ_API_VERSION "2021-08-06"

/* base64(MD5(data)), the Content-MD5 value. */
char *az_content_md5(const void *data, gsize len);

/* The same, fed piece by piece: az_md5_finish() returns the base64 digest and frees `md5`. */
typedef struct _AzMd5 AzMd5;
AzMd5 *az_md5_new(void);
void az_md5_update(AzMd5 *md5, const void *data, gsize len);
char *az_md5_finish(AzMd5 *md5);

/* `path` from az_target_blob_path(); `md5` from az_content_md5() or NULL. */
AzRequest *az_op_put_blob(const AzTarget *t, const char *path, guint64 length,
                          const char *content_type, const char *md5);
AzRequest *az_op_put_block(const AzTarget *t, const char *path, const char *block_id,
                           guint64 length, const char *md5);
AzRequest *az_op_put_block_list(const AzTarget *t, const char *path, guint64 xml_length,
                                const char *blob_content_type, const char *md5);

G_END_DECLS

#endif /* AZ_OPS_H */
