/* sluice plugin ABI — declared configuration keys.
 *
 * A plugin never reads files. It declares the keys it understands as a static array of
 * SluiceConfigKey (terminated by SLUICE_CONFIG_KEY_END); the core parses the YAML, validates every
 * value against the declaration (type, range) and reports problems as `FILE:LINE: KEY: problem`
 * before the plugin's init() runs. The plugin then reads the validated values through the
 * SluiceHost config accessors (host.h), which fall back to the declared default.
 *
 * Where keys live in the YAML:
 *   plugins:
 *     enable: [hello]
 *     hello:              # a plugin's keys sit under plugins.<plugin name>
 *       greeting: "hi"
 * A key flagged SLUICE_CONFIG_TOP_LEVEL lives at the root of the file instead (for keys LiveKit
 * configs already carry, such as rtmp_port); if the core knows that key too, both declarations
 * must agree on its type.
 *
 * Ownership: the array and every string in it belong to the plugin and must stay valid for the
 * life of the process (use static storage). Read on the main thread only.
 */
#ifndef SLUICE_CONFIG_SCHEMA_H
#define SLUICE_CONFIG_SCHEMA_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SLUICE_CONFIG_BOOL = 1, /* true/false, yes/no, on/off */
  SLUICE_CONFIG_INT,      /* 64-bit integer; range via min/max */
  SLUICE_CONFIG_DOUBLE,   /* floating point; range via min/max */
  SLUICE_CONFIG_STRING,   /* any scalar */
  SLUICE_CONFIG_PORT,     /* integer 0..65535, or -1 meaning disabled */
  SLUICE_CONFIG_DURATION, /* "15s", "500ms", "2m", "1h" or a number of seconds; range in seconds */
  SLUICE_CONFIG_STRING_LIST, /* a YAML sequence of scalars, or one scalar */
} SluiceConfigType;

typedef enum {
  SLUICE_CONFIG_FLAG_NONE = 0,
  SLUICE_CONFIG_FLAG_SECRET = 1 << 0,    /* value is redacted in every log line and answer */
  SLUICE_CONFIG_FLAG_TOP_LEVEL = 1 << 1, /* key lives at the root, not under plugins.<name> */
  SLUICE_CONFIG_FLAG_REQUIRED = 1 << 2,  /* start-up fails when the key is absent */
} SluiceConfigFlags;

typedef struct {
  const char *name;          /* key name, [a-z0-9_]+ */
  SluiceConfigType type;     /* value type */
  const char *default_value; /* default as YAML scalar text, or NULL for "unset" */
  double min;                /* inclusive range for INT, DOUBLE, DURATION (seconds); */
  double max;                /*   ignored when min == max == 0 */
  const char *help;          /* one line shown by `sluice plugins --keys` and in errors */
  guint flags;               /* SluiceConfigFlags */
} SluiceConfigKey;

#define SLUICE_CONFIG_KEY_END                                                                      \
  {                                                                                                \
    NULL, 0, NULL, 0, 0, NULL, 0                                                                   \
  }

G_END_DECLS

#endif /* SLUICE_CONFIG_SCHEMA_H */
