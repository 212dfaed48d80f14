/*
 * replay.c - runs a libFuzzer target without libFuzzer: every file named on the command
 * line (or every file in a named folder) is passed once to LLVMFuzzerTestOneInput. `make
 * test` builds each target with this driver and the normal compiler and replays the
 * regression corpus in tests/fuzz/corpus/TARGET; a crash or abort fails the test.
 * `replay --write-seeds DIR` writes the target's seed files (model and checkpoint targets).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_write_seeds(const char *dir) __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf)
            abort();
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
        if (!fuzz_write_seeds) {
            fprintf(stderr, "replay: this target has no seed writer\n");
            return 1;
        }
        fuzz_write_seeds(argv[2]);
        return 0;
    }
    int failed = 0, count = 0;
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(argv[a]);
            if (!d) {
                failed = 1;
                continue;
            }
            char **names = NULL;
            size_t n = 0;
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                names = realloc(names, (n + 1) * sizeof *names);
                names[n] = malloc(strlen(argv[a]) + strlen(e->d_name) + 2);
                if (!names || !names[n])
                    abort();
                sprintf(names[n++], "%s/%s", argv[a], e->d_name);
            }
            closedir(d);
            qsort(names, n, sizeof *names, cmp);
            for (size_t j = 0; j < n; j++) {
                failed |= replay_file(names[j]);
                count++;
                free(names[j]);
            }
            free(names);
        } else {
            failed |= replay_file(argv[a]);
            count++;
        }
    }
    printf("replay: %d inputs, no crash\n", count);
    return failed;
}
