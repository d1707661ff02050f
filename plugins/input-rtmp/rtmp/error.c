/* rtmp/error.c - the RTMP_ERROR quark; see error.h. */
#include "rtmp/error.h"

GQuark rtmp_error_quark(void)
{
  return g_quark_from_static_string("rtmp-error-quark");
}
