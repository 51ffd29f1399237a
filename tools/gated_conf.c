/*
 * gated_conf.c: parse /etc/usbgate/usbgated.conf (format in usbgated(8)).
 *
 * One directive per line, words separated by blanks, '#' comments:
 *
 *   socket PATH | socket-mode OCTAL | socket-group GID
 *   state-dir DIR | rules-dir DIR | usb-ids FILE
 *   ask-command COMMAND...     (rest of the line, run by /bin/sh -c)
 *   ask-timeout SEC | attach-timeout SEC | detach-timeout SEC
 *   follow-window SEC | udev-auto-attach yes|no
 *   backend NAME URI [listen]
 *   vm NAME URI [listen] [tag=TAG]...
 *        (URI xen:PORT: vchan PORT of the Xen domain named NAME)
 *   data BACKEND VM|* BACKEND-URI FRONTEND-URI [frontend-listens]
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_chan.h"
#include "gated.h"

void
gated_conf_defaults(struct gated_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	snprintf(conf->socket_path, sizeof(conf->socket_path), "%s",
	    GATED_SOCK_DEFAULT);
	conf->socket_mode = 0600;
	conf->socket_gid = -1;
	snprintf(conf->state_dir, sizeof(conf->state_dir), "%s",
	    GATED_STATE_DEFAULT);
	snprintf(conf->rules_dir, sizeof(conf->rules_dir), "%s",
	    GATED_RULES_DEFAULT);
	conf->ask_timeout = 60;
	conf->attach_timeout = 10;
	conf->detach_timeout = 5;
	conf->follow_window = 10;
	conf->udev_auto_attach = 0;	/* only dom0 chooses the VM */
}

static int
parse_uint(const char *s, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !(errno != 0 || *end != '\0' || end == s || *out < 0 ||
	    *out > max);
}

static int
name_ok(const char *s)
{
	return ctl_str_valid(s, CTL_CS_NAME) && strcmp(s, "dom0") != 0;
}

static int
uri_ok(const char *s)
{
	struct ctl_chan_uri u;

	return strlen(s) <= CTL_URI_MAX && ctl_str_valid(s, CTL_CS_TOKEN) &&
	    ctl_chan_parse(s, &u) == CTL_OK;
}

static int
set_str(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size)
		return 0;
	strcpy(dst, src);
	return 1;
}

static struct gated_peer_conf *
find_peer(struct gated_conf *conf, const char *name)
{
	int i;

	for (i = 0; i < conf->n_peers; i++)
		if (strcmp(conf->peers[i].name, name) == 0)
			return &conf->peers[i];
	return NULL;
}

/* One line being parsed: its words, and where its errors are reported. */
struct conf_line {
	const char *name;		/* file, for diagnostics */
	int lineno;
	struct pol_diags *dg;
	const char *raw;		/* the line as written, up to '\n' */
	char *w[24];
	int nw;
};

/* Report one error for the line and give up on it. */
#define ERR(...) do { pol_diag_add(l->dg, l->name, l->lineno, __VA_ARGS__); \
		return POL_E_SYNTAX; } while (0)

/* ask-command COMMAND...: the rest of the line, as written. */
static int
conf_ask_command(struct gated_conf *conf, const struct conf_line *l)
{
	const char *rest = strstr(l->raw, "ask-command") + 11;
	size_t rlen;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	rlen = strcspn(rest, "#\n");
	while (rlen > 0 && (rest[rlen - 1] == ' ' ||
	    rest[rlen - 1] == '\t' || rest[rlen - 1] == '\r'))
		rlen--;
	if (rlen >= sizeof(conf->ask_command))
		ERR("ask-command too long");
	memcpy(conf->ask_command, rest, rlen);
	conf->ask_command[rlen] = '\0';
	return POL_OK;
}

/* backend NAME URI [listen] | vm NAME URI [listen] [tag=TAG]... */
static int
conf_peer(struct gated_conf *conf, const struct conf_line *l)
{
	char *const *w = l->w;
	struct gated_peer_conf *pc;
	long v = 0;
	int i;

	if (!name_ok(w[1]))
		ERR("bad %s name '%.40s'", w[0], w[1]);
	if (find_peer(conf, w[1]) != NULL)
		ERR("'%s' is configured twice", w[1]);
	if (strncmp(w[2], "xen:", 4) == 0 &&
	    (strlen(w[2]) > 9 || !parse_uint(w[2] + 4, 65535, &v) || v == 0))
		ERR("bad port in '%.60s' (xen:PORT)", w[2]);
	if (strncmp(w[2], "xen:", 4) != 0 && !uri_ok(w[2]))
		ERR("bad channel URI '%.60s' (unix:PATH, tcp:HOST:PORT, "
		    "dev:PATH, fd:N, vchan:DOMID:PORT, xen:PORT, or "
		    "framed:URI)", w[2]);
	if (conf->n_peers >= GATED_PEERS_MAX)
		ERR("too many backends and VMs (at most %d)", GATED_PEERS_MAX);
	pc = &conf->peers[conf->n_peers];
	memset(pc, 0, sizeof(*pc));
	strcpy(pc->name, w[1]);
	strcpy(pc->uri, w[2]);
	pc->role = w[0][0] == 'b' ? CTL_ROLE_BACKEND : CTL_ROLE_FRONTEND;
	pc->xen_port = (int)v;
	for (i = 3; i < l->nw; i++) {
		if (strcmp(w[i], "listen") == 0)
			pc->listen = 1;
		else if (strncmp(w[i], "tag=", 4) == 0 &&
		    pc->role == CTL_ROLE_FRONTEND) {
			if (!ctl_str_valid(w[i] + 4, CTL_CS_NAME))
				ERR("bad tag '%.40s'", w[i] + 4);
			if (pc->n_tags >= GATED_TAGS_MAX)
				ERR("too many tags");
			strcpy(pc->tags[pc->n_tags++], w[i] + 4);
		} else
			ERR("unknown option '%.40s' for %s", w[i], w[0]);
	}
	if (pc->listen) {
		struct ctl_chan_uri u;

		if (pc->xen_port > 0 || ctl_chan_parse(pc->uri, &u) != CTL_OK ||
		    (u.kind != CTL_CHAN_UNIX && u.kind != CTL_CHAN_TCP))
			ERR("only unix: and tcp: channels can listen");
	}
	conf->n_peers++;
	return POL_OK;
}

/* data BACKEND VM|* BACKEND-URI FRONTEND-URI [frontend-listens] */
static int
conf_data(struct gated_conf *conf, const struct conf_line *l)
{
	char *const *w = l->w;
	struct gated_data_conf *dc;

	if (!name_ok(w[1]) || (!name_ok(w[2]) && strcmp(w[2], "*") != 0))
		ERR("data needs BACKEND and VM (or *) names");
	if (!uri_ok(w[3]) || !uri_ok(w[4]))
		ERR("bad data channel URI");
	if (l->nw == 6 && strcmp(w[5], "frontend-listens") != 0)
		ERR("unknown option '%.40s' for data", w[5]);
	if (conf->n_data >= GATED_DATA_MAX)
		ERR("too many data channels (at most %d)", GATED_DATA_MAX);
	dc = &conf->data[conf->n_data++];
	memset(dc, 0, sizeof(*dc));
	strcpy(dc->backend, w[1]);
	strcpy(dc->vm, w[2]);
	strcpy(dc->backend_uri, w[3]);
	strcpy(dc->frontend_uri, w[4]);
	dc->frontend_listens = l->nw == 6;
	return POL_OK;
}

/* One directive (l has at least one word). */
static int
conf_directive(struct gated_conf *conf, const struct conf_line *l)
{
	char *const *w = l->w;
	int nw = l->nw;
	long v;

	if (strcmp(w[0], "socket") == 0 && nw == 2) {
		if (w[1][0] != '/' || !set_str(conf->socket_path,
		    sizeof(conf->socket_path), w[1]))
			ERR("socket needs an absolute path shorter than %zu "
			    "bytes", sizeof(conf->socket_path));
	} else if (strcmp(w[0], "socket-mode") == 0 && nw == 2) {
		char *end;
		unsigned long m = strtoul(w[1], &end, 8);

		if (*end != '\0' || m > 0777 || (m & 0007))
			ERR("socket-mode must be octal, without permissions "
			    "for others (e.g. 0660)");
		conf->socket_mode = (unsigned)m;
	} else if (strcmp(w[0], "socket-group") == 0 && nw == 2) {
		if (!parse_uint(w[1], 0x7fffffff, &v))
			ERR("socket-group needs a numeric gid");
		conf->socket_gid = v;
	} else if ((strcmp(w[0], "state-dir") == 0 ||
	    strcmp(w[0], "rules-dir") == 0 ||
	    strcmp(w[0], "usb-ids") == 0) && nw == 2) {
		char *dst = w[0][0] == 's' ? conf->state_dir :
		    w[0][0] == 'r' ? conf->rules_dir : conf->usbids;

		if (w[1][0] != '/' || !set_str(dst, GATED_PATH_MAX, w[1]))
			ERR("%s needs an absolute path", w[0]);
	} else if (strcmp(w[0], "ask-command") == 0 && nw >= 2)
		return conf_ask_command(conf, l);
	else if ((strcmp(w[0], "ask-timeout") == 0 ||
	    strcmp(w[0], "attach-timeout") == 0 ||
	    strcmp(w[0], "detach-timeout") == 0 ||
	    strcmp(w[0], "follow-window") == 0) && nw == 2) {
		if (!parse_uint(w[1], 3600, &v) || (v == 0 && w[0][0] != 'f'))
			ERR("%s needs a number of seconds (1..3600)", w[0]);
		if (w[0][0] == 'a' && w[0][1] == 's')
			conf->ask_timeout = (int)v;
		else if (w[0][0] == 'a')
			conf->attach_timeout = (int)v;
		else if (w[0][0] == 'd')
			conf->detach_timeout = (int)v;
		else
			conf->follow_window = (int)v;
	} else if (strcmp(w[0], "udev-auto-attach") == 0 && nw == 2) {
		if (strcmp(w[1], "yes") == 0)
			conf->udev_auto_attach = 1;
		else if (strcmp(w[1], "no") == 0)
			conf->udev_auto_attach = 0;
		else
			ERR("udev-auto-attach is yes or no");
	} else if ((strcmp(w[0], "backend") == 0 ||
	    strcmp(w[0], "vm") == 0) && nw >= 3)
		return conf_peer(conf, l);
	else if (strcmp(w[0], "data") == 0 && (nw == 5 || nw == 6))
		return conf_data(conf, l);
	else
		ERR("unknown directive or wrong number of words: '%.40s'",
		    w[0]);
	return POL_OK;
}

#undef ERR

/* Every data channel names a configured backend. */
static int
conf_cross_check(struct gated_conf *conf, const char *name,
    struct pol_diags *dg)
{
	int i, ret = POL_OK;

	for (i = 0; i < conf->n_data; i++) {
		struct gated_peer_conf *b = find_peer(conf,
		    conf->data[i].backend);

		if (b == NULL || b->role != CTL_ROLE_BACKEND) {
			pol_diag_add(dg, name, 0, "data channel %d names "
			    "'%s', which is not a configured backend", i + 1,
			    conf->data[i].backend);
			ret = POL_E_VALUE;
		}
	}
	return ret;
}

int
gated_conf_parse_text(const char *text, const char *name,
    struct gated_conf *conf, struct pol_diags *dg)
{
	struct conf_line l = { .name = name, .dg = dg };
	char line[2048], *save, *p;
	const char *s = text, *nl;
	int ret = POL_OK, r;

	while (*s != '\0') {
		size_t len;

		l.lineno++;
		nl = strchr(s, '\n');
		len = nl ? (size_t)(nl - s) : strlen(s);
		if (len >= sizeof(line)) {
			pol_diag_add(dg, name, l.lineno, "line too long");
			ret = POL_E_TOOLONG;
			goto next;
		}
		memcpy(line, s, len);
		line[len] = '\0';
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		l.raw = s;
		l.nw = 0;
		for (p = strtok_r(line, " \t\r", &save); p != NULL && l.nw < 24;
		    p = strtok_r(NULL, " \t\r", &save))
			l.w[l.nw++] = p;
		if (l.nw > 0 && (r = conf_directive(conf, &l)) != POL_OK)
			ret = r;
next:
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	if ((r = conf_cross_check(conf, name, dg)) != POL_OK)
		ret = r;
	return ret;
}


int
gated_conf_load(const char *path, struct gated_conf *conf,
    struct pol_diags *dg)
{
	FILE *f = fopen(path, "r");
	char *text;
	long n;
	int r;

	if (f == NULL) {
		pol_diag_add(dg, path, 0, "cannot open: %s", strerror(errno));
		return POL_E_IO;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    n > (1 << 20)) {
		fclose(f);
		pol_diag_add(dg, path, 0, "unreadable or too large");
		return POL_E_IO;
	}
	rewind(f);
	if ((text = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return POL_E_NOMEM;
	}
	n = (long)fread(text, 1, (size_t)n, f);
	text[n] = '\0';
	fclose(f);
	r = gated_conf_parse_text(text, path, conf, dg);
	free(text);
	return r;
}
