/* upload-gcp: one upload's settings, read from the target GstStructure and the environment.
 *
 * The target (core/storage.h) is a GstStructure named "gcp" with the fields LiveKit's YAML uses:
 *   credentials_json  string   the service account key file's JSON text
 *   bucket            string   required
 *   endpoint          string   sluice extension: the API's base URL ("http://host:port" or
 *                              "host:port"), for emulators and private endpoints
 *   proxy_config      GstStructure  url, username, password
 * Where requests go, first match wins: `endpoint`, then STORAGE_EMULATOR_HOST (what Google's Go,
 * Python, Node and .NET clients read), then CLOUD_STORAGE_EMULATOR_HOST (the C++ client's name),
 * then https://storage.googleapis.com.
 * Which credentials: `credentials_json` when set; otherwise, against a custom endpoint or an
 * emulator, none (requests go unauthenticated, as Google's clients do with an emulator);
 * otherwise the service account file GOOGLE_APPLICATION_CREDENTIALS names. The metadata server
 * of Google's VMs is not consulted.
 *
 * Parsing is separate from I/O except for reading the GOOGLE_APPLICATION_CREDENTIALS file.
 * Ownership: a GcsTarget owns all its strings; free it with gcs_target_free (g_autoptr works).
 * Any thread; a target is used by the one upload that made it.
 */
#ifndef GCS_TARGET_H
#define GCS_TARGET_H

#include <glib.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* The token endpoint when the key file names none. */
#define GCS_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"

/* The parts of a service account key file sluice uses. */
typedef struct {
  char *client_email;
  char *private_key; /* PEM text: secret, never logged */
  char *private_key_id;
  char *token_uri;
  /* Identifies these credentials in the token cache without holding the key in the clear:
   * SHA-256 over the token URI, the e-mail and the key. */
  char *cache_key;
} GcsServiceAccount;

typedef struct {
  char *bucket;
  char *base_url;             /* the API's base, no trailing slash */
  gboolean custom_base;       /* base_url came from endpoint or an emulator variable */
  GcsServiceAccount *account; /* NULL: send requests without credentials */
  char *proxy_url;            /* NULL: the system's proxy settings; else proxy_config.url */
  char *proxy_username;       /* proxy_config.username, or NULL */
  char *proxy_password;       /* proxy_config.password (secret), or NULL */
} GcsTarget;

/* The process environment the target depends on; NULL members are unset variables. */
typedef struct {
  const char *storage_emulator_host;       /* STORAGE_EMULATOR_HOST */
  const char *cloud_storage_emulator_host; /* CLOUD_STORAGE_EMULATOR_HOST */
  const char *application_credentials;     /* GOOGLE_APPLICATION_CREDENTIALS (a file path) */
} GcsEnv;

/* Fills `env` from the process environment (the strings belong to the environment). */
void gcs_env_from_process(GcsEnv *env);

/* Parses a service account key file's JSON text. Errors (GCS_ERROR_CREDENTIALS) name the
 * missing or wrong field, never its value. */
GcsServiceAccount *gcs_service_account_parse(const char *json, GError **error);
void gcs_service_account_free(GcsServiceAccount *sa);

/* Reads `st` (transfer none) under `env`. NULL with `error` (GCS_ERROR_CONFIG or
 * GCS_ERROR_CREDENTIALS) when a required setting is missing or unusable. */
GcsTarget *gcs_target_new(const GstStructure *st, const GcsEnv *env, GError **error);
void gcs_target_free(GcsTarget *t);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GcsServiceAccount, gcs_service_account_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GcsTarget, gcs_target_free)

G_END_DECLS

#endif /* GCS_TARGET_H */
