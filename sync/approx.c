/* avtruth sync: policy `approximate`, the semantics of ROS message_filters' ApproximateTime
 * policy, implemented from its description (ROS wiki "message_filters/ApproximateTime"):
 *
 *  - every message is used at most once; sets do not cross (per stream, sets are in order);
 *  - sets are contiguous: no set could be formed from the messages dropped between two sets;
 *  - among the sets contiguous to the previous one, a set of minimal size (latest minus
 *    earliest time) is published; the output depends on the time stamps only.
 *
 * Algorithm. Each stream has a queue; messages moved aside while searching go to the stream's
 * "past" list. When every queue is non-empty, the set of queue heads is looked at: its latest
 * message is the pivot, and every set contiguous to the previous one must contain the pivot
 * or an earlier message of the pivot's stream; so the search moves the earliest head aside
 * one step at a time, keeping the smallest set seen (the candidate). The search ends, and the
 * candidate is published, when the earliest head is the pivot itself (no set after this one
 * can still contain the pivot) or when the heads' span already exceeds what any later set
 * containing the pivot can beat (later end minus candidate end >= pivot time minus candidate
 * start). Publishing deletes the candidate's messages and everything before them, and puts
 * the messages moved aside after them back at the queue fronts. A maximum interval, when
 * set, drops the earliest head of a heads-set wider than it before a candidate is formed. A
 * queue over queue_size drops its oldest message (the search restarts) and marks the
 * stream, as ROS does. Not implemented: the inter-message lower bounds and age penalty,
 * which per the wiki only let ROS conclude earlier and do not change the sets (age penalty
 * 0 is ROS's default).
 *
 * Known failure (tests/sync): with a 20 Hz camera and a 10 Hz LiDAR, a camera head lying
 * between two LiDAR messages becomes the pivot and is paired with the later LiDAR message
 * even when the next camera message is nearer to it; a maximum interval avoids it. */
#include <stdlib.h>
#include <string.h>

#include "avtruth/sync.h"

typedef struct msg {
    int64_t t;
    uint64_t seq;
} msg;

typedef struct stream {
    msg *q;            /* circular queue, capacity cap */
    size_t head, len, cap;
    msg *past;         /* moved aside during the search */
    size_t n_past;
    msg cand;
    int has_dropped;
    uint64_t next_seq, dropped;
    int64_t last_t;
    int any;
} stream;

struct avt_approx {
    size_t n, queue_size;
    int64_t max_interval;
    stream s[AVT_APPROX_MAX_STREAMS];
    size_t non_empty;
    int pivot;         /* -1: none */
    int64_t pivot_t, cand_start, cand_end;
    avt_approx_callback cb;
    void *ctx;
};

static msg *front(stream *s) { return &s->q[s->head]; }

static void push_back(stream *s, msg m)
{
    s->q[(s->head + s->len) % s->cap] = m;
    s->len++;
}

static void push_front(stream *s, msg m)
{
    s->head = (s->head + s->cap - 1) % s->cap;
    s->q[s->head] = m;
    s->len++;
}

static void pop_front(avt_approx *a, stream *s)
{
    s->head = (s->head + 1) % s->cap;
    if (--s->len == 0) a->non_empty--;
}

static void move_to_past(avt_approx *a, size_t i)
{
    stream *s = &a->s[i];
    s->past[s->n_past++] = *front(s);
    pop_front(a, s);
}

/* Puts the messages moved aside back at the queue fronts, in order. */
static void recover(avt_approx *a)
{
    for (size_t i = 0; i < a->n; i++) {
        stream *s = &a->s[i];
        int was_empty = s->len == 0;
        while (s->n_past) push_front(s, s->past[--s->n_past]);
        if (was_empty && s->len) a->non_empty++;
    }
}

static void make_candidate(avt_approx *a, int64_t start, int64_t end)
{
    for (size_t i = 0; i < a->n; i++) {
        a->s[i].cand = *front(&a->s[i]);
        a->s[i].n_past = 0; /* messages before a better candidate are dropped for good */
    }
    a->cand_start = start;
    a->cand_end = end;
}

static void publish(avt_approx *a)
{
    avt_approx_set set;
    memset(&set, 0, sizeof set);
    for (size_t i = 0; i < a->n; i++) {
        set.t_ns[i] = a->s[i].cand.t;
        set.seq[i] = a->s[i].cand.seq;
    }
    a->cb(a->ctx, &set);
    recover(a);
    /* the candidate's message is now the front of every queue */
    for (size_t i = 0; i < a->n; i++) pop_front(a, &a->s[i]);
    a->pivot = -1;
}

static void heads(avt_approx *a, size_t *si, int64_t *st, size_t *ei, int64_t *et)
{
    *si = *ei = 0;
    *st = *et = front(&a->s[0])->t;
    for (size_t i = 1; i < a->n; i++) {
        int64_t t = front(&a->s[i])->t;
        if (t < *st) *st = t, *si = i;
        if (t > *et) *et = t, *ei = i;
    }
}

static void process(avt_approx *a)
{
    while (a->non_empty == a->n) {
        size_t si, ei;
        int64_t st, et;
        heads(a, &si, &st, &ei, &et);
        for (size_t i = 0; i < a->n; i++)
            if (i != ei) a->s[i].has_dropped = 0;
        if (a->pivot < 0) {
            if ((a->max_interval > 0 && et - st > a->max_interval) || a->s[ei].has_dropped) {
                pop_front(a, &a->s[si]);
                continue;
            }
            make_candidate(a, st, et);
            a->pivot = (int)ei;
            a->pivot_t = et;
            move_to_past(a, si);
        } else {
            if (et - a->cand_end < st - a->cand_start) make_candidate(a, st, et);
            move_to_past(a, si);
        }
        if ((int)si == a->pivot || et - a->cand_end >= a->pivot_t - a->cand_start) publish(a);
    }
}

avt_approx *avt_approx_new(size_t n, int64_t max_interval_ns, size_t queue_size, avt_approx_callback cb, void *ctx,
                           avt_error *err)
{
    if (n < 2 || n > AVT_APPROX_MAX_STREAMS || queue_size < 1 || queue_size > 1000000 || !cb) {
        avt_err(err, AVT_INVAL, "approximate sync: %zu streams (2..%d), queue size %zu (1..1000000)", n,
                AVT_APPROX_MAX_STREAMS, queue_size);
        return NULL;
    }
    avt_approx *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->n = n;
    a->queue_size = queue_size;
    a->max_interval = max_interval_ns;
    a->pivot = -1;
    a->cb = cb;
    a->ctx = ctx;
    for (size_t i = 0; i < n; i++) {
        a->s[i].cap = queue_size + 2;
        a->s[i].q = malloc(a->s[i].cap * sizeof(msg));
        a->s[i].past = malloc(a->s[i].cap * sizeof(msg));
        if (!a->s[i].q || !a->s[i].past) goto nomem;
    }
    return a;
nomem:
    avt_approx_free(a);
    avt_err(err, AVT_NOMEM, "out of memory");
    return NULL;
}

void avt_approx_free(avt_approx *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->s[i].q);
        free(a->s[i].past);
    }
    free(a);
}

int avt_approx_add(avt_approx *a, size_t i, int64_t t_ns, avt_error *err)
{
    if (i >= a->n) return avt_err(err, AVT_INVAL, "approximate sync: stream %zu of %zu", i, a->n);
    stream *s = &a->s[i];
    if (s->any && t_ns < s->last_t)
        return avt_err(err, AVT_INVAL, "approximate sync: stream %zu: time %lld ns before the previous %lld ns", i,
                       (long long)t_ns, (long long)s->last_t);
    s->any = 1;
    s->last_t = t_ns;
    push_back(s, (msg){t_ns, s->next_seq++});
    if (s->len == 1) {
        a->non_empty++;
        if (a->non_empty == a->n) process(a);
    }
    if (s->len + s->n_past > a->queue_size) {
        /* cancel the search, drop the stream's oldest message, start again */
        recover(a);
        pop_front(a, s);
        s->has_dropped = 1;
        s->dropped++;
        if (a->pivot >= 0) {
            a->pivot = -1;
            process(a);
        }
    }
    return AVT_OK;
}

void avt_approx_flush(avt_approx *a)
{
    /* With every stream ended no later message can beat the candidate: publish it and search
     * again among the messages left. */
    for (;;) {
        if (a->pivot >= 0) {
            publish(a);
            process(a);
            continue;
        }
        if (a->non_empty < a->n) return;
        process(a);
        if (a->pivot < 0) return;
    }
}

uint64_t avt_approx_dropped(const avt_approx *a, size_t i)
{
    return i < a->n ? a->s[i].dropped : 0;
}
