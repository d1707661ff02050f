/* upload-gcp: the URLs of the GCS JSON API, built from strings only (no I/O, unit-tested).
 *
 * GCS object names are arbitrary UTF-8. Inside a URL they are percent-encoded byte by byte: every
 * byte except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX. In the query
 * (`name=`) and in the `/o/<name>` path segment even `/` is encoded, so "a/b c+d" travels as
 * "a%2Fb%20c%2Bd"; in a location URL shown to people `/` stays as it is. `+` is always encoded,
 * since some servers read a literal `+` in a query as a space.
 *
 * Ownership: every function returns a new string (transfer full, g_free). Any thread.
 */
#ifndef GCS_URL_H
#define GCS_URL_H

#include <glib.h>

G_BEGIN_DECLS

/* Google's public endpoint; used when neither `endpoint` nor an emulator variable is set. */
#define GCS_DEFAULT_BASE_URL "https://storage.googleapis.com"

/* Percent-encodes `s` as described above; `keep_slash` leaves `/` unencoded. */
char *gcs_url_encode(const char *s, gboolean keep_slash);

/* A base URL from a configured endpoint or an emulator variable: "host:port" gains "http://"
 * (as Google's client libraries read STORAGE_EMULATOR_HOST), trailing slashes are dropped.
 * Returns NULL for an empty or whitespace-only value. */
char *gcs_url_normalize_base(const char *endpoint);

/* {base}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name} (simple upload). */
char *gcs_url_media_upload(const char *base, const char *bucket, const char *name);

/* {base}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&name={name} (session start). */
char *gcs_url_resumable_start(const char *base, const char *bucket, const char *name);

/* {base}/storage/v1/b/{bucket}/o/{name} (the object resource; add ?alt=media to read it). */
char *gcs_url_object(const char *base, const char *bucket, const char *name);

/* Where the object lives, as sluice reports it in results and manifests. LiveKit's GCP uploader
 * reports https://{bucket}.storage.googleapis.com/{name}; with a custom endpoint or an emulator
 * (`custom_base` non-NULL) it is the path-style {custom_base}/{bucket}/{name}. The name keeps its
 * slashes and is otherwise percent-encoded, so the result is always a valid URL. */
char *gcs_url_location(const char *custom_base, const char *bucket, const char *name);

G_END_DECLS

#endif /* GCS_URL_H */
