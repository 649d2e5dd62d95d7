/* One-line structured logs: "ts level applet msg key=value ...".
 * To stderr, or to the file named by VPCNET_LOG_FILE / log_open().
 * Never stdout: a CNI plugin's stdout carries only its result. */
#ifndef VPCNET_LOG_H
#define VPCNET_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *applet, enum log_level level);
int log_open(const char *path);
void log_set_level(enum log_level level);
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
