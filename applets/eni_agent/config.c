/* The agent config file (Terway eni.json keys), as far as the operator
 * commands need it: region_id and the credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eni_agent.h"
#include "json.h"

int ea_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;	/* shrank under us */
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

/* String member key of the root object into dst.  0, -ENOENT (absent,
 * null or ""), -EINVAL (wrong type, too long; err names the key).  wipe:
 * zero the parser's copy afterwards (a secret). */
static int conf_str(const struct json_doc *d, const char *key, char *dst,
		    size_t cap, int wipe, const char *path, char *err,
		    size_t errlen)
{
	struct json_err je;
	const char *v;
	size_t n;
	int rc;

	rc = json_get_str(d, 0, key, &v, &je);
	if (rc == -ENOENT)
		return rc;
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, je.msg);
		return -EINVAL;
	}
	n = strlen(v);
	if (n >= cap) {
		snprintf(err, errlen, "%s: %s: longer than %zu bytes", path,
			 key, cap - 1);
		rc = -EINVAL;
	} else {
		memcpy(dst, v, n + 1);
		rc = n ? 0 : -ENOENT;
	}
	if (wipe)
		explicit_bzero((char *)v, n);
	return rc;
}

/* access_key + access_secret, else credential_path, else nothing. */
static int conf_cred(struct ea_config *c, const struct json_doc *d,
		     char *err, size_t errlen)
{
	struct aliyun_cred *cr = &c->cred;
	char file[256], why[EA_ERR_SIZE];
	int id, sec;

	id = conf_str(d, "access_key", cr->access_key_id,
		      sizeof(cr->access_key_id), 0, c->path, err, errlen);
	sec = conf_str(d, "access_secret", cr->access_key_secret,
		       sizeof(cr->access_key_secret), 1, c->path, err,
		       errlen);
	if (id == -EINVAL || sec == -EINVAL)
		return -EINVAL;
	if (!id || !sec) {
		if (id || sec) {
			snprintf(err, errlen, "%s: %s is set but %s is not",
				 c->path, id ? "access_secret" : "access_key",
				 id ? "access_key" : "access_secret");
			return -EINVAL;
		}
		c->have_cred = 1;
		snprintf(c->cred_from, sizeof(c->cred_from),
			 "access_key in %s", c->path);
		return 0;
	}
	id = conf_str(d, "credential_path", file, sizeof(file), 0, c->path,
		      err, errlen);
	if (id == -ENOENT)
		return 0;
	if (id < 0)
		return id;
	if (ea_cred_file(file, cr, NULL, 0, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: credential_path: %s", c->path, why);
		return -EINVAL;
	}
	c->have_cred = 1;
	snprintf(c->cred_from, sizeof(c->cred_from), "credential_path %s",
		 file);
	return 0;
}

int ea_config_load(struct ea_config *c, const char *path, char *err,
		   size_t errlen)
{
	struct json_err je;
	struct json_doc d;
	struct arena a;
	char *text;
	size_t len;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	rc = ea_read_file(path, EA_MAX_CONFIG, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	arena_init(&a);
	rc = json_parse(&d, &a, text, len, NULL, &je);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, je.msg);
		rc = -EINVAL;
	} else if (json_typeof(&d, 0) != JSON_OBJECT) {
		snprintf(err, errlen, "%s: expected a JSON object", path);
		rc = -EINVAL;
	} else {
		rc = conf_str(&d, "region_id", c->region, sizeof(c->region),
			      0, path, err, errlen);
		if (rc == -ENOENT)
			rc = 0;
		if (!rc)
			rc = conf_cred(c, &d, err, errlen);
	}
	explicit_bzero(text, len);
	free(text);
	arena_free_all(&a);
	if (rc < 0)
		ea_config_clear(c);
	return rc;
}

void ea_config_clear(struct ea_config *c)
{
	explicit_bzero(&c->cred, sizeof(c->cred));
	c->have_cred = 0;
}
