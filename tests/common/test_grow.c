/* Growable buffers (common/util.c): avt_grow keeps the contents, avt_grow_scratch does not
 * need to; both double the capacity from 64, and leave the buffer as it was when the size
 * cannot be represented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "avtruth/common.h"

static void test_grow_keeps_contents(void **state)
{
    (void)state;
    int32_t *p = NULL;
    size_t cap = 0;
    assert_int_equal(avt_grow((void **)&p, &cap, 10, sizeof *p), AVT_OK);
    assert_int_equal(cap, 64);
    for (int i = 0; i < 64; i++) p[i] = i * 7;
    assert_int_equal(avt_grow((void **)&p, &cap, 64, sizeof *p), AVT_OK); /* fits: unchanged */
    assert_int_equal(cap, 64);
    assert_int_equal(avt_grow((void **)&p, &cap, 300, sizeof *p), AVT_OK);
    assert_int_equal(cap, 512);
    for (int i = 0; i < 64; i++) assert_int_equal(p[i], i * 7);
    p[511] = 1; /* the whole capacity is there (ASan would see an overflow) */
    free(p);
}

static void test_grow_scratch(void **state)
{
    (void)state;
    uint8_t *p = NULL;
    size_t cap = 0;
    assert_int_equal(avt_grow_scratch((void **)&p, &cap, 1, 1), AVT_OK);
    assert_int_equal(cap, 64);
    uint8_t *before = p;
    assert_int_equal(avt_grow_scratch((void **)&p, &cap, 64, 1), AVT_OK);
    assert_ptr_equal(p, before); /* it fits: the same buffer */
    assert_int_equal(avt_grow_scratch((void **)&p, &cap, 65, 1), AVT_OK);
    assert_int_equal(cap, 128);
    memset(p, 0xab, cap);
    /* a size that overflows: AVT_NOMEM, the buffer and capacity as they were */
    before = p;
    assert_int_equal(avt_grow_scratch((void **)&p, &cap, SIZE_MAX / 2 + 2, 4), AVT_NOMEM);
    assert_ptr_equal(p, before);
    assert_int_equal(cap, 128);
    assert_int_equal(p[127], 0xab);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_grow_keeps_contents), cmocka_unit_test(test_grow_scratch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
