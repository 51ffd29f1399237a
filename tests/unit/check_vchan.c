/*
 * check_vchan.c: the vchan transport of proto/stream.c against a stand-in
 * for libxenvchan that honours its API (tests/shadow/xenvchan.c), since no
 * Xen hypervisor runs here: a server that waits for its client, data both
 * ways, a writer that fills the ring and is woken when the peer reads, and
 * end-of-stream after the peer closes.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"
#include "unit_main.h"

static char dir[] = "/tmp/vchan-check-XXXXXX";

/* Unchecked fixture: one shadow directory for the whole test case. */
static void
shadow_dir_create(void)
{
	if (mkdtemp(dir) == NULL ||
	    setenv("USBGATE_VCHAN_SHADOW_DIR", dir, 1) != 0)
		ck_abort_msg("shadow dir %s: %s", dir, strerror(errno));
}

static void
shadow_dir_remove(void)
{
	rmdir(dir);
}

/* One event-loop turn for a stream: poll, read, write. */
static ssize_t
turn(struct stream *s, int ms)
{
	struct pollfd p = { stream_rfd(s), POLLIN, 0 };
	ssize_t r = 0;

	stream_flush(s);
	if (poll(&p, 1, ms) > 0)
		r = stream_fill(s);
	stream_flush(s);
	return r;
}

START_TEST(server_waits_then_data_flows_both_ways)
{
	struct stream *srv, *cli;
	char buf[16];
	int i;

	ck_assert_int_eq(stream_open("vchan:0:11", STREAM_F_LISTEN, &srv), STREAM_OK);
	ck_assert_int_eq(stream_wfd(srv), -1);
	ck_assert_int_eq(stream_open("vchan:0:11", 0, &cli), STREAM_OK);
	stream_write(cli, "hello", 5);
	for (i = 0; i < 50 && stream_available(srv) < 5; i++) {
		turn(cli, 0);
		ck_assert_int_ge(turn(srv, 20), 0);
	}
	ck_assert_uint_eq(stream_read(srv, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	stream_write(srv, "world", 5);
	for (i = 0; i < 50 && stream_available(cli) < 5; i++) {
		turn(srv, 0);
		ck_assert_int_ge(turn(cli, 20), 0);
	}
	ck_assert_uint_eq(stream_read(cli, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "world", 5), 0);
	stream_close(cli);
	stream_close(srv);
}
END_TEST

START_TEST(full_ring_writer_is_woken_by_the_readers_progress)
{
	struct stream *srv, *cli;
	size_t len = 4 * 1024 * 1024, got = 0, i;
	uint8_t *src = malloc(len), *dst = malloc(len);
	int turns = 0;

	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i ^ (i >> 9));
	ck_assert_int_eq(stream_open("vchan:0:12", STREAM_F_LISTEN, &srv), STREAM_OK);
	ck_assert_int_eq(stream_open("vchan:0:12", 0, &cli), STREAM_OK);
	turn(srv, 20);		/* the server takes its client */
	stream_write(srv, src, len);
	while (got < len && turns++ < 100000) {
		/* the writer only ever polls its event descriptor */
		turn(srv, 0);
		ck_assert_int_ge(turn(cli, 5), 0);
		got += stream_read(cli, dst + got, len - got);
	}
	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(src, dst, len), 0);
	ck_assert_uint_eq(stream_pending(srv), 0);
	stream_close(cli);
	stream_close(srv);
	free(src);
	free(dst);
}
END_TEST

START_TEST(peer_close_is_end_of_stream_after_its_data)
{
	struct stream *srv, *cli;
	char buf[8];
	ssize_t r = 0;
	int i;

	ck_assert_int_eq(stream_open("vchan:0:13", STREAM_F_LISTEN, &srv), STREAM_OK);
	ck_assert_int_eq(stream_open("vchan:0:13", 0, &cli), STREAM_OK);
	stream_write(cli, "last", 4);
	ck_assert_int_eq(stream_drain(cli, 1000), STREAM_OK);
	stream_close(cli);
	for (i = 0; i < 50 && r >= 0; i++)
		r = turn(srv, 20);
	ck_assert_int_eq(r, STREAM_E_EOF);
	ck_assert_uint_eq(stream_read(srv, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "last", 4), 0);
	stream_close(srv);
}
END_TEST

START_TEST(client_without_server_fails)
{
	struct stream *cli;

	ck_assert_int_eq(stream_open("vchan:0:99", 0, &cli), STREAM_E_SYS);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("vchan");
	TCase *tc = tcase_create("vchan");

	tcase_add_unchecked_fixture(tc, shadow_dir_create, shadow_dir_remove);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, server_waits_then_data_flows_both_ways);
	tcase_add_test(tc, full_ring_writer_is_woken_by_the_readers_progress);
	tcase_add_test(tc, peer_close_is_end_of_stream_after_its_data);
	tcase_add_test(tc, client_without_server_fails);
	suite_add_tcase(s, tc);
	return s;
}
