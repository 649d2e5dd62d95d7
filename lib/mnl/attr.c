/* libmnl API subset: netlink attributes (TLVs). */
#include <errno.h>
#include <string.h>
#include <libmnl/libmnl.h>

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
	return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_len(const struct nlattr *attr)
{
	return attr->nla_len;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
	return attr->nla_len - MNL_ATTR_HDRLEN;
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
	return (char *)attr + MNL_ATTR_HDRLEN;
}

bool mnl_attr_ok(const struct nlattr *attr, int len)
{
	return len >= (int)sizeof(struct nlattr) &&
	       attr->nla_len >= sizeof(struct nlattr) &&
	       (int)attr->nla_len <= len;
}

struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
	return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t max)
{
	if (mnl_attr_get_type(attr) > max) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 1;
}

static int check_kind(enum mnl_attr_data_type type, const char *p,
		      uint16_t len)
{
	switch (type) {
	case MNL_TYPE_FLAG:
		return len > 0 ? ERANGE : 0;
	case MNL_TYPE_NUL_STRING:
		if (len == 0)
			return ERANGE;
		return p[len - 1] != '\0' ? EINVAL : 0;
	case MNL_TYPE_STRING:
		return len == 0 ? ERANGE : 0;
	case MNL_TYPE_NESTED:
		/* empty is fine; otherwise room for at least one header */
		return len != 0 && len < MNL_ATTR_HDRLEN ? ERANGE : 0;
	default:
		return 0;
	}
}

/* Payload at least `want` bytes, the type's own rule, then at most `want`. */
static int validate(const struct nlattr *attr, enum mnl_attr_data_type type,
		    size_t want)
{
	uint16_t len = mnl_attr_get_payload_len(attr);
	int e;

	if (len < want) {
		errno = ERANGE;
		return -1;
	}
	e = check_kind(type, mnl_attr_get_payload(attr), len);
	if (!e && want && len > want)
		e = ERANGE;
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

static size_t type_len(enum mnl_attr_data_type type)
{
	switch (type) {
	case MNL_TYPE_U8:
		return sizeof(uint8_t);
	case MNL_TYPE_U16:
		return sizeof(uint16_t);
	case MNL_TYPE_U32:
		return sizeof(uint32_t);
	case MNL_TYPE_U64:
	case MNL_TYPE_MSECS:
		return sizeof(uint64_t);
	default:
		return 0;
	}
}

int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	if ((unsigned int)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return validate(attr, type, type_len(type));
}

int mnl_attr_validate2(const struct nlattr *attr, enum mnl_attr_data_type type,
		       size_t len)
{
	if ((unsigned int)type >= MNL_TYPE_MAX) {
		errno = EINVAL;
		return -1;
	}
	return validate(attr, type, len);
}

/* Calls cb for each whole attribute in [p, p + len); len may be negative. */
static int parse_range(const char *p, long len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr = (const struct nlattr *)p;
	int ret = MNL_CB_OK;

	while (len <= 0x7fffffff && mnl_attr_ok(attr, (int)len)) {
		ret = cb(attr, data);
		if (ret <= MNL_CB_STOP)
			return ret;
		len -= MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	return ret;
}

int mnl_attr_parse_payload(const void *payload, size_t payload_len,
			   mnl_attr_cb_t cb, void *data)
{
	return parse_range(payload, (long)payload_len, cb, data);
}

int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset,
		   mnl_attr_cb_t cb, void *data)
{
	const char *p = mnl_nlmsg_get_payload_offset(nlh, offset);
	const char *end = mnl_nlmsg_get_payload_tail(nlh);

	return parse_range(p, end - p, cb, data);
}

int mnl_attr_parse_nested(const struct nlattr *nest, mnl_attr_cb_t cb,
			  void *data)
{
	return parse_range(mnl_attr_get_payload(nest),
			   mnl_attr_get_payload_len(nest), cb, data);
}

uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
	return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
	uint16_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
	uint64_t v;

	memcpy(&v, mnl_attr_get_payload(attr), sizeof(v));
	return v;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
	return mnl_attr_get_payload(attr);
}
