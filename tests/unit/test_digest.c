/* Unit tests for meta/digest: replicas fed the same commands agree. */
#include "meta_fixture.h"

/* A deterministic mix of namespace commands, some of which fail. */
static void random_workload(struct fx *f, uint64_t seed, int n)
{
	static const char *names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	uint32_t dirs[64] = {1};
	size_t n_dirs = 1;
	for (int i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t r = (uint32_t)(seed >> 33);
		uint32_t dir = dirs[r % n_dirs];
		const char *name = names[(r >> 8) % 8];
		switch ((r >> 12) % 6) {
		case 0: {
			struct meta_result res = fx_mknode(f, &ROOT, dir, name, MT_DIR, 0755);
			if (res.err == 0 && n_dirs < 64)
				dirs[n_dirs++] = res.ino;
			break;
		}
		case 1:
		case 2:
			fx_mknode(f, &ROOT, dir, name, MT_FILE, 0644);
			break;
		case 3:
			fx_unlink(f, &ROOT, dir, name, (r >> 20) & 1);
			break;
		case 4:
			fx_rename(f, dir, name, dirs[(r >> 16) % n_dirs], names[(r >> 24) % 8]);
			break;
		case 5: {
			struct meta_cmd c = {.kind = MC_SETXATTR, .creds = ROOT, .ino = dir,
					     .name = B("user.x"), .data = B(name)};
			fx_run(f, &c);
			break;
		}
		}
	}
}

static void test_two_replicas_applying_same_commands_have_equal_digests(void **state)
{
	(void)state;
	struct fx *a = fx_new(), *b = fx_new();
	fx_init(a);
	fx_init(b);
	random_workload(a, 42, 1500);
	random_workload(b, 42, 1500);
	uint8_t da[32], db[32];
	fx_digest(a, da);
	fx_digest(b, db);
	assert_memory_equal(da, db, 32);
	fx_free(a);
	fx_free(b);
}

static void test_one_differing_command_changes_the_digest(void **state)
{
	(void)state;
	struct fx *a = fx_new(), *b = fx_new();
	fx_init(a);
	fx_init(b);
	random_workload(a, 7, 300);
	random_workload(b, 7, 300);
	fx_mkfile(a, 1, "only-here");
	b->next_ino++;
	b->ms += 1000;
	uint8_t da[32], db[32];
	fx_digest(a, da);
	fx_digest(b, db);
	assert_memory_not_equal(da, db, 32);
	fx_free(a);
	fx_free(b);
}

static void test_digest_survives_reopen(void **state)
{
	(void)state;
	struct fx *a = fx_new();
	fx_init(a);
	random_workload(a, 99, 400);
	uint8_t before[32], after[32];
	fx_digest(a, before);
	meta_store_close(&a->s);
	fx_open_at(a, a->dir);
	fx_digest(a, after);
	assert_memory_equal(before, after, 32);
	fx_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_replicas_applying_same_commands_have_equal_digests),
		cmocka_unit_test(test_one_differing_command_changes_the_digest),
		cmocka_unit_test(test_digest_survives_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
