/* libmnl API subset: running callbacks over a buffer of messages. */
#include <errno.h>
#include <libmnl/libmnl.h>

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

static int cb_stop(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

/* An ACK (error 0) stops with errno 0; an error sets errno (either sign). */
static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr))) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	errno = err->error < 0 ? -err->error : err->error;
	return err->error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

static mnl_cb_t default_ctl(uint16_t type)
{
	switch (type) {
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return cb_noop;
	case NLMSG_ERROR:
		return cb_error;
	case NLMSG_DONE:
		return cb_stop;
	default:
		return NULL;
	}
}

/*
 * Control messages (type < NLMSG_MIN_TYPE) go to cb_ctl[type] when type is
 * below ctl_len, even if that slot is NULL (then the message is skipped);
 * otherwise to the defaults.  Stops at the first callback returning
 * MNL_CB_STOP or MNL_CB_ERROR and returns that; checks portid, seq and
 * NLM_F_DUMP_INTR on each message first (ESRCH, EPROTO, EINTR).
 */
int mnl_cb_run2(const void *buf, size_t numbytes, unsigned int seq,
		unsigned int portid, mnl_cb_t cb_data, void *data,
		mnl_cb_t *cb_ctl, unsigned int ctl_len)
{
	const struct nlmsghdr *nlh = buf;
	int len = numbytes, ret = MNL_CB_OK;
	mnl_cb_t cb;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (!mnl_nlmsg_portid_ok(nlh, portid)) {
			errno = ESRCH;
			return -1;
		}
		if (!mnl_nlmsg_seq_ok(nlh, seq)) {
			errno = EPROTO;
			return -1;
		}
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
			errno = EINTR;
			return -1;
		}
		if (nlh->nlmsg_type >= NLMSG_MIN_TYPE)
			cb = cb_data;
		else if (nlh->nlmsg_type < ctl_len)
			cb = cb_ctl ? cb_ctl[nlh->nlmsg_type] : NULL;
		else
			cb = default_ctl(nlh->nlmsg_type);
		if (!cb)
			continue;
		ret = cb(nlh, data);
		if (ret <= MNL_CB_STOP)
			return ret;
	}
	return ret;
}

int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq,
	       unsigned int portid, mnl_cb_t cb_data, void *data)
{
	return mnl_cb_run2(buf, numbytes, seq, portid, cb_data, data, NULL, 0);
}
