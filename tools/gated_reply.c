/*
 * gated_reply.c: answers to a usbgate CLI client: CLI_ROW messages and the
 * one CLI_DONE of each request, with its status (the worst result wins),
 * message and deciding rule. Used by the request handlers (gated_cli.c)
 * and by the sessions that finish a request later (gated_core.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gated.h"

void
cli_result(struct gated *g, struct gcli *c, int status, const char *rule,
    const char *fmt, ...)
{
	char msg[CTL_CLI_MESSAGE_MAX + 1];
	size_t len;
	va_list ap;

	(void)g;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status != CTL_ST_OK && (c->status == CTL_ST_OK ||
	    c->message[0] == '\0')) {
		/* The first failure is what the person needs to read. */
		c->status = status;
		ctl_strlcpy(c->message, msg, sizeof(c->message));
		ctl_strlcpy(c->rule, rule ? rule : "", sizeof(c->rule));
		return;
	}
	if (status != CTL_ST_OK || c->status != CTL_ST_OK)
		return;
	len = strlen(c->message);
	if (len > 0 && len + 2 < sizeof(c->message))
		strcat(c->message, "; ");
	len = strlen(c->message);
	ctl_strlcpy(c->message + len, msg, sizeof(c->message) - len);
}

void
cli_finish(struct gated *g, struct gcli *c)
{
	struct ctl_msg m;

	(void)g;
	ctl_msg_init(&m, CTL_MSG_CLI_DONE);
	m.u.cli_done.status = c->status;
	ctl_strlcpy(m.u.cli_done.message, c->message,
	    sizeof(m.u.cli_done.message));
	ctl_str_scrub(m.u.cli_done.message, CTL_CS_PRINT);
	ctl_strlcpy(m.u.cli_done.rule, c->rule, sizeof(m.u.cli_done.rule));
	ctl_str_scrub(m.u.cli_done.rule, CTL_CS_PRINT);
	if (ctl_conn_send(c->conn, &m) != CTL_OK)
		c->closing = 1;
	c->status = CTL_ST_OK;
	c->message[0] = c->rule[0] = '\0';
	c->waiting = 0;
}

void
cli_op_done(struct gated *g, struct gcli *c)
{
	if (c->waiting > 0)
		c->waiting--;
	if (c->waiting == 0 && !c->in_request)
		cli_finish(g, c);
}

void
cli_row(struct gcli *c, const struct ctl_cli_row *row)
{
	struct ctl_msg m;

	ctl_msg_init(&m, CTL_MSG_CLI_ROW);
	m.u.cli_row = *row;
	if (ctl_conn_send(c->conn, &m) != CTL_OK)
		c->closing = 1;
}
