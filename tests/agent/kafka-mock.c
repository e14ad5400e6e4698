/* SPDX-License-Identifier: Apache-2.0 */
/* kafka-mock: a 3-broker Kafka-protocol cluster on loopback (librdkafka's
 * mock cluster) for the agent's Kafka tests (suite kafka).
 *
 *   kafka-mock [BROKERS]
 *
 * Prints "bootstrap HOST:PORT,..." on stdout, then reads commands on stdin,
 * one per line, answering each with one line:
 *   topic NAME PARTITIONS   create a topic (replication 3) -> "ok" / "error ..."
 * It stops when stdin closes, or on SIGTERM / SIGINT.
 *
 *   kafka-mock --produce BOOTSTRAP TOPIC < RECORDS
 *
 * Produces "PARTITION<TAB>KEY<TAB>VALUE" lines (PARTITION -1: by the key,
 * librdkafka's default partitioner) in order with an idempotent producer,
 * then prints "end P OFFSET" (the next offset) for every partition it
 * wrote to; exit 1 if any record was not delivered.  With "hex" after
 * TOPIC, VALUE is hexadecimal (binary records: protobuf Events).
 *
 *   kafka-mock --consume BOOTSTRAP TOPIC PARTITIONS [hex]
 *
 * Prints every record of the topic as "PARTITION<TAB>KEY<TAB>VALUE" (VALUE
 * in hexadecimal with "hex"), up to the end of each partition. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

#define MAXP 1024
static int64_t ends[MAXP];
static int failed;

static void
dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (!failed++)
            fprintf(stderr, "kafka-mock: not delivered: %s\n", rd_kafka_err2str(m->err));
    } else if (m->partition >= 0 && m->partition < MAXP && m->offset + 1 > ends[m->partition]) {
        ends[m->partition] = m->offset + 1;
    }
}

static int
unhex(char *s)
{
    size_t n = strlen(s), j = 0;

    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1)
            return -1;
        s[j++] = (char)v;
    }
    return (int)j;
}

static int
consume(const char *bootstrap, const char *topic, int parts, int hex)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *l;
    int eof = 0, rc = 0;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", "kafka-mock-reader", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err)) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err))) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    l = rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (eof < parts) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10000);
        if (!m) {
            fprintf(stderr, "kafka-mock: no end of partition within 10 s\n");
            rc = 1;
            break;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (m->err) {
            fprintf(stderr, "kafka-mock: %s\n", rd_kafka_message_errstr(m));
            rc = 1;
        } else {
            printf("%d\t%.*s\t", (int)m->partition, (int)m->key_len, (const char *)m->key);
            if (hex)
                for (size_t i = 0; i < m->len; i++)
                    printf("%02x", ((const unsigned char *)m->payload)[i]);
            else
                fwrite(m->payload, 1, m->len, stdout);
            putchar('\n');
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

static int
produce(const char *bootstrap, const char *topic, int hex)
{
    char err[512];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err)) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    for (int i = 0; i < MAXP; i++)
        ends[i] = -1;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        char *key, *val, *end;
        long part;
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        part = strtol(line, &end, 10);
        if (*end != '\t' || !(val = strchr(end + 1, '\t'))) {
            fprintf(stderr, "kafka-mock: not PARTITION<TAB>KEY<TAB>VALUE\n");
            failed++;
            break;
        }
        key = end + 1;
        *val++ = '\0';
        int vlen = hex ? unhex(val) : (int)strlen(val);
        if (vlen < 0) {
            fprintf(stderr, "kafka-mock: VALUE is not hexadecimal\n");
            failed++;
            break;
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION((int32_t)part),
                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, (size_t)vlen),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (e) {
                fprintf(stderr, "kafka-mock: produce: %s\n", rd_kafka_err2str(e));
                failed++;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    free(line);
    rd_kafka_flush(rk, 30000);
    if (rd_kafka_outq_len(rk) > 0)
        failed++;
    rd_kafka_destroy(rk);
    for (int i = 0; i < MAXP; i++)
        if (ends[i] >= 0)
            printf("end %d %lld\n", i, (long long)ends[i]);
    return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
    int brokers;
    char err[512], line[1024];
    size_t used = 0;
    struct sigaction sa = {0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;

    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--produce"))
        return produce(argv[2], argv[3], argc == 5 && !strcmp(argv[4], "hex"));
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "--consume"))
        return consume(argv[2], argv[3], atoi(argv[4]), argc == 6 && !strcmp(argv[5], "hex"));
    brokers = argc > 1 ? atoi(argv[1]) : 3;
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "kafka-mock: BROKERS must be 1..16\n");
        return 2;
    }
    /* The handle only hosts the cluster: quiet, no broker of its own. */
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err))) {
        fprintf(stderr, "kafka-mock: %s\n", err);
        return 1;
    }
    if (!(mc = rd_kafka_mock_cluster_new(rk, brokers))) {
        fprintf(stderr, "kafka-mock: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    while (!stop_flag) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        ssize_t n = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* stdin closed: the test is over */
        used += (size_t)n;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            char name[256];
            int parts = 0;
            *nl = '\0';
            if (sscanf(line, "topic %255s %d", name, &parts) == 2 && parts > 0 && parts <= 1000) {
                rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts,
                                                                   brokers < 3 ? brokers : 3);
                if (e)
                    printf("error %s\n", rd_kafka_err2str(e));
                else
                    printf("ok\n");
            } else {
                printf("error unknown command\n");
            }
            fflush(stdout);
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used + 1);
        }
        if (used == sizeof line - 1)
            used = 0; /* an endless line: dropped */
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
