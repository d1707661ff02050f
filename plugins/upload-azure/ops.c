/* upload-azure — Put Blob, Put Block and Put Block List as requests. See ops.h. */
#include "ops.h"

char *az_content_md5(const void *data, gsize len)
{
  guint8 digest[16];
  gsize dlen = sizeof digest;
  g_autoptr(GChecksum) md5 = g_checksum_new(G_CHECKSUM_MD5);
  g_checksum_update(md5, data, len);
  g_checksum_get_digest(md5, digest, &dlen);
  return g_base64_encode(digest, dlen);
}

static AzRequest *put(const AzTarget *t, const char *path, const char *query, guint64 length,
                      const char *md5)
{
  AzRequest *req = az_request_new("PUT", t->origin, path, query);
  g_autofree char *len = g_strdup_printf("%" G_GUINT64_FORMAT, length);
  az_request_set_header(req, "x-ms-version", AZ_API_VERSION);
  az_request_set_header(req, "Content-Length", len);
  if (md5 != NULL)
    az_request_set_header(req, "Content-MD5", md5);
  return req;
}

AzRequest *az_op_put_blob(const AzTarget *t, const char *path, guint64 length,
                          const char *content_type, const char *md5)
{
  AzRequest *req = put(t, path, NULL, length, md5);
  az_request_set_header(req, "x-ms-blob-type", "BlockBlob");
  if (content_type != NULL)
    az_request_set_header(req, "Content-Type", content_type);
  return req;
}

AzRequest *az_op_put_block(const AzTarget *t, const char *path, const char *block_id,
                           guint64 length, const char *md5)
{
  g_autofree char *enc_id = az_percent_encode(block_id, FALSE);
  g_autofree char *query = g_strconcat("comp=block&blockid=", enc_id, NULL);
  return put(t, path, query, length, md5);
}

AzRequest *az_op_put_block_list(const AzTarget *t, const char *path, guint64 xml_length,
                                const char *blob_content_type, const char *md5)
{
  AzRequest *req = put(t, path, "comp=blocklist", xml_length, md5);
  az_request_set_header(req, "Content-Type", "application/xml");
  if (blob_content_type != NULL)
    az_request_set_header(req, "x-ms-blob-content-type", blob_content_type);
  return req;
}
