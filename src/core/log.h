/* log.h - levelled logging to stderr, one line per record.
 *
 * Never pass secrets (keys, tokens, signing secrets) or patient data (client
 * names, message or note text) to these functions: logs leave the practice's
 * control. Log ids and codes instead. */
#ifndef HERALD_CORE_LOG_H
#define HERALD_CORE_LOG_H

enum hlog_level { HLOG_DEBUG, HLOG_INFO, HLOG_WARN, HLOG_ERROR };

void hlog_set_level(enum hlog_level level);
int hlog_parse_level(const char *name, enum hlog_level *out);
void hlog(enum hlog_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define hlog_debug(...) hlog(HLOG_DEBUG, __VA_ARGS__)
#define hlog_info(...) hlog(HLOG_INFO, __VA_ARGS__)
#define hlog_warn(...) hlog(HLOG_WARN, __VA_ARGS__)
#define hlog_error(...) hlog(HLOG_ERROR, __VA_ARGS__)

#endif
