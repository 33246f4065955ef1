// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_shadow_vars.c: port of the kernel selftests'
 * test_klp_shadow_vars: its init exercises the shadow variable API on
 * three objects and two ids, logging each call with its arguments and
 * result. Pointers are logged as PTR<n>, n numbering the distinct values
 * in the order they are first seen (PTR0 is NULL), so that the log does
 * not depend on addresses.
 *
 * The kernel's module is an ordinary module; uklp loads only livepatch
 * modules, so this one is marked livepatch=Y and enables no patch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <errno.h>
#include <stdlib.h>

#include <uklp/livepatch.h>

/* ---- address-agnostic pointer names ---- */

#define MAX_PTRS 64
static const void *ptrs[MAX_PTRS];
static int nptrs;

static int ptr_id(const void *ptr)
{
	for (int i = 0; i < nptrs; i++)
		if (ptrs[i] == ptr)
			return i;
	if (nptrs == MAX_PTRS)
		return -ENOMEM;
	ptrs[nptrs] = ptr;
	return nptrs++;
}

static void free_ptr_list(void)
{
	nptrs = 0;
}

/* ---- the API, with each call logged ---- */

static void *shadow_get(void *obj, unsigned long id)
{
	void *sv = klp_shadow_get(obj, id);

	pr_info("klp_%s(obj=PTR%d, id=0x%lx) = PTR%d\n", __func__, ptr_id(obj), id, ptr_id(sv));
	return sv;
}

static void log_alloc(const char *func, void *obj, unsigned long id, size_t size,
		      klp_shadow_ctor_t ctor, void *ctor_data, void *sv)
{
	int **var = ctor_data;

	/* gfp flags mean nothing in user space: every caller passes GFP_KERNEL */
	pr_info("klp_%s(obj=PTR%d, id=0x%lx, size=%zx, gfp_flags=GFP_KERNEL), ctor=PTR%d, ctor_data=PTR%d = PTR%d\n",
		func, ptr_id(obj), id, size, ptr_id((void *)ctor), ptr_id(*var), ptr_id(sv));
}

static void *shadow_alloc(void *obj, unsigned long id, size_t size, gfp_t gfp_flags,
			  klp_shadow_ctor_t ctor, void *ctor_data)
{
	void *sv = klp_shadow_alloc(obj, id, size, gfp_flags, ctor, ctor_data);

	log_alloc(__func__, obj, id, size, ctor, ctor_data, sv);
	return sv;
}

static void *shadow_get_or_alloc(void *obj, unsigned long id, size_t size, gfp_t gfp_flags,
				 klp_shadow_ctor_t ctor, void *ctor_data)
{
	void *sv = klp_shadow_get_or_alloc(obj, id, size, gfp_flags, ctor, ctor_data);

	log_alloc(__func__, obj, id, size, ctor, ctor_data, sv);
	return sv;
}

static void shadow_free(void *obj, unsigned long id, klp_shadow_dtor_t dtor)
{
	klp_shadow_free(obj, id, dtor);
	pr_info("klp_%s(obj=PTR%d, id=0x%lx, dtor=PTR%d)\n", __func__, ptr_id(obj), id, ptr_id((void *)dtor));
}

static void shadow_free_all(unsigned long id, klp_shadow_dtor_t dtor)
{
	klp_shadow_free_all(id, dtor);
	pr_info("klp_%s(id=0x%lx, dtor=PTR%d)\n", __func__, id, ptr_id((void *)dtor));
}

/* Constructor: the shadow variable keeps the pointer it is given. */
static int shadow_ctor(void *obj, void *shadow_data, void *ctor_data)
{
	int **sv = shadow_data;
	int **var = ctor_data;

	(void)obj;
	if (!var)
		return -EINVAL;
	*sv = *var;
	pr_info("%s: PTR%d -> PTR%d\n", __func__, ptr_id(sv), ptr_id(*var));
	return 0;
}

/* Not passed to shadow_free_all(): with several variables to free, the
 * order of its calls would be undefined (pass 6). */
static void shadow_dtor(void *obj, void *shadow_data)
{
	pr_info("%s(obj=PTR%d, shadow_data=PTR%d)\n", __func__, ptr_id(obj), ptr_id(shadow_data));
}

/* ---- the test ---- */

/* objects we simulate that need shadow variables */
#define NUM_OBJS 3

/* ids of the shadow variables: a char field and an int field */
#define SV_ID1 0x1234
#define SV_ID2 0x1235

struct test_object {
	int unused;	/* the structure the shadow variables extend */
};

static void expect(void *sv, void *want_sv, void *want_data)
{
	if (sv == want_sv && *(void **)want_sv == want_data)
		pr_info("  got expected PTR%d -> PTR%d result\n", ptr_id(want_sv), ptr_id(want_data));
}

static void expect_null(void *sv)
{
	if (!sv)
		pr_info("  got expected NULL result\n");
}

static int test_klp_shadow_vars_init(void)
{
	struct test_object objs[NUM_OBJS];
	char nfields1[NUM_OBJS], *pnfields1[NUM_OBJS], *pndup[NUM_OBJS];
	int nfields2[NUM_OBJS], *pnfields2[NUM_OBJS];
	void *sv1[NUM_OBJS], *sv2[NUM_OBJS], *sv;
	int i, ret = 0;

	ptr_id(NULL);

	/* An empty table finds nothing. */
	expect_null(shadow_get(&objs[0], SV_ID1));

	/* pass 1: allocate a char and an int shadow variable for each object */
	for (i = 0; i < NUM_OBJS; i++) {
		pnfields1[i] = &nfields1[i];
		ptr_id(pnfields1[i]);
		if (i % 2)
			sv1[i] = shadow_alloc(&objs[i], SV_ID1, sizeof(pnfields1[i]), GFP_KERNEL,
					      shadow_ctor, &pnfields1[i]);
		else
			sv1[i] = shadow_get_or_alloc(&objs[i], SV_ID1, sizeof(pnfields1[i]), GFP_KERNEL,
						     shadow_ctor, &pnfields1[i]);
		if (!sv1[i]) {
			ret = -ENOMEM;
			goto out;
		}
		pnfields2[i] = &nfields2[i];
		ptr_id(pnfields2[i]);
		sv2[i] = shadow_alloc(&objs[i], SV_ID2, sizeof(pnfields2[i]), GFP_KERNEL,
				      shadow_ctor, &pnfields2[i]);
		if (!sv2[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}

	/* pass 2: each is found, and points where its constructor set it */
	for (i = 0; i < NUM_OBJS; i++) {
		sv = shadow_get(&objs[i], SV_ID1);
		if (!sv) {
			ret = -EINVAL;
			goto out;
		}
		expect(sv, sv1[i], pnfields1[i]);
		sv = shadow_get(&objs[i], SV_ID2);
		if (!sv) {
			ret = -EINVAL;
			goto out;
		}
		expect(sv, sv2[i], pnfields2[i]);
	}

	/* pass 3: get_or_alloc returns the existing variables */
	for (i = 0; i < NUM_OBJS; i++) {
		pndup[i] = &nfields1[i];
		ptr_id(pndup[i]);
		sv = shadow_get_or_alloc(&objs[i], SV_ID1, sizeof(pndup[i]), GFP_KERNEL,
					 shadow_ctor, &pndup[i]);
		if (!sv) {
			ret = -EINVAL;
			goto out;
		}
		expect(sv, sv1[i], pnfields1[i]);
	}

	/* pass 4: free the <objs[*], SV_ID1> variables, which are gone then */
	for (i = 0; i < NUM_OBJS; i++) {
		shadow_free(&objs[i], SV_ID1, shadow_dtor);
		expect_null(shadow_get(&objs[i], SV_ID1));
	}

	/* pass 5: the <objs[*], SV_ID2> variables are still there */
	for (i = 0; i < NUM_OBJS; i++) {
		sv = shadow_get(&objs[i], SV_ID2);
		if (!sv) {
			ret = -EINVAL;
			goto out;
		}
		expect(sv, sv2[i], pnfields2[i]);
	}

	/* pass 6: free all the <objs[*], SV_ID2> variables at once */
	shadow_free_all(SV_ID2, NULL);
	for (i = 0; i < NUM_OBJS; i++)
		expect_null(shadow_get(&objs[i], SV_ID2));

	free_ptr_list();
	return 0;
out:
	shadow_free_all(SV_ID1, NULL);
	shadow_free_all(SV_ID2, NULL);
	free_ptr_list();
	return ret;
}

static void test_klp_shadow_vars_exit(void)
{
}

module_init(test_klp_shadow_vars_init);
module_exit(test_klp_shadow_vars_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: shadow variables");
