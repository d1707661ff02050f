/* Logging. See log.h. */
#include "log.h"

#include "pbjson.h"
#include "redact.h"

#include <stdio.h>
#include <string.h>

static GMutex log_lock;
static SluiceLogLevel log_level = SLUICE_LOG_INFO;
static gboolean log_json = FALSE;
static GPtrArray *secrets; /* char*, longest first, under log_lock */

static const char *level_names[] = {"error", "warn", "info", "debug"};

gboolean sl_log_parse_level(const char *name, SluiceLogLevel *out)
{
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp(name, "error") == 0 || g_ascii_strcasecmp(name, "fatal") == 0 ||
      g_ascii_strcasecmp(name, "panic") == 0 || g_ascii_strcasecmp(name, "dpanic") == 0)
    *out = SLUICE_LOG_ERROR;
  else if (g_ascii_strcasecmp(name, "warn") == 0 || g_ascii_strcasecmp(name, "warning") == 0)
    *out = SLUICE_LOG_WARNING;
  else if (g_ascii_strcasecmp(name, "info") == 0)
    *out = SLUICE_LOG_INFO;
  else if (g_ascii_strcasecmp(name, "debug") == 0 || g_ascii_strcasecmp(name, "trace") == 0)
    *out = SLUICE_LOG_DEBUG;
  else
    return FALSE;
  return TRUE;
}

void sl_log_configure(SluiceLogLevel level, gboolean json)
{
  g_mutex_lock(&log_lock);
  log_level = level;
  log_json = json;
  g_mutex_unlock(&log_lock);
}

SluiceLogLevel sl_log_get_level(void)
{
  return log_level;
}

static gint longest_first(gconstpointer a, gconstpointer b)
{
  return (gint)strlen(*(char *const *)b) - (gint)strlen(*(char *const *)a);
}

void sl_log_register_secret(const char *secret)
{
  if (secret == NULL || strlen(secret) < 4)
    return;
  g_mutex_lock(&log_lock);
  if (secrets == NULL)
    secrets = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < secrets->len; i++) {
    if (strcmp(g_ptr_array_index(secrets, i), secret) == 0) {
      g_mutex_unlock(&log_lock);
      return;
    }
  }
  g_ptr_array_add(secrets, g_strdup(secret));
  g_ptr_array_sort(secrets, longest_first);
  g_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. Longest secrets go first so that one secret containing another is
 * replaced whole. */
static char *scrub_locked(const char *text)
{
  GString *s = g_string_new(text);
  if (secrets == NULL)
    return g_string_free(s, FALSE);
  for (guint i = 0; i < secrets->len; i++) {
    const char *secret = g_ptr_array_index(secrets, i);
    g_autofree char *red = sl_redact_secret(secret);
    g_string_replace(s, secret, red, 0);
  }
  return g_string_free(s, FALSE);
}

char *sl_log_scrub(const char *text)
{
  char *out;
  g_mutex_lock(&log_lock);
  out = scrub_locked(text ? text : "");
  g_mutex_unlock(&log_lock);
  return out;
}

static void write_line(SluiceLogLevel level, const char *component, const char *message)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *clean = NULL;
  GString *line = g_string_new(NULL);

  g_mutex_lock(&log_lock);
  if (level > log_level) {
    g_mutex_unlock(&log_lock);
    g_string_free(line, TRUE);
    return;
  }
  clean = scrub_locked(message);
  /* %f gives microseconds; trim to milliseconds */
  if (strlen(ts) > 24) {
    ts[23] = 'Z';
    ts[24] = '\0';
  }
  if (log_json) {
    g_string_append_printf(line, "{\"ts\":\"%s\",\"level\":\"%s\",\"logger\":", ts,
                           level_names[level]);
    sl_json_append_string(line, component);
    g_string_append(line, ",\"msg\":");
    sl_json_append_string(line, clean);
    g_string_append(line, "}\n");
  } else {
    g_string_append_printf(line, "%s %-5s %s: %s\n", ts, level_names[level], component, clean);
  }
  fputs(line->str, stderr);
  fflush(stderr);
  g_mutex_unlock(&log_lock);
  g_string_free(line, TRUE);
}

void sl_log(SluiceLogLevel level, const char *component, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  write_line(level, component, msg);
}

/* Routes GLib's structured logging (g_message, g_warning, g_critical from any library or plugin)
 * through the same writer, so scrubbing and format apply to every line. */
static GLogWriterOutput writer(GLogLevelFlags flags, const GLogField *fields, gsize n_fields,
                               gpointer user_data)
{
  const char *message = NULL;
  const char *domain = "glib";
  SluiceLogLevel level;
  (void)user_data;

  for (gsize i = 0; i < n_fields; i++) {
    if (strcmp(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
      message = fields[i].value;
    else if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
      domain = fields[i].value;
  }
  if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    level = SLUICE_LOG_ERROR;
  else if (flags & G_LOG_LEVEL_WARNING)
    level = SLUICE_LOG_WARNING;
  else if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    level = SLUICE_LOG_INFO;
  else
    level = SLUICE_LOG_DEBUG;
  write_line(level, domain, message ? message : "");
  return G_LOG_WRITER_HANDLED;
}

void sl_log_init(void)
{
  g_log_set_writer_func(writer, NULL, NULL);
}
