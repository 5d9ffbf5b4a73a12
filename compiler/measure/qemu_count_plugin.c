/* A QEMU TCG plugin that counts the aarch64 instructions a program executes,
 * by class, exactly: `shufflec bench --runner qemu --count` compiles it with
 * the host's C compiler and runs the benchmark program under
 *   qemu-aarch64 -plugin plugin.so,out=FILE
 * Each translated block gets a counter that QEMU increments inline whenever
 * the block runs; the block's instructions are classified once, when it is
 * translated, from their encodings (the A64 classes below). At exit, FILE gets
 * one line per block: its address, executions and instructions per class.
 *
 * The plugin interface is QEMU's public C API of version 1 (QEMU 7.2, Debian
 * bookworm's qemu-user); Debian ships no header for it, so the few functions
 * used are declared here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t index);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op, void *counter, uint64_t add);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t id, void *data), void *data);
enum { kInlineAddU64 = 0 };

/* Instruction classes (an instruction counts in the first that matches). */
enum {
    kFmaF32,     /* vector FMLA/FMLS, single precision (vector or by element) */
    kFmaF16,     /* the same, half precision (ARMv8.2 FP16) */
    kDot,        /* SDOT/UDOT (vector or by element) */
    kMulInt,     /* integer vector MUL/MLA/MLS and widening SMULL/UMULL/SMLAL/UMLAL/SMLSL/UMLSL (also by element) */
    kFmaScalar,  /* scalar FMADD/FMSUB, single precision */
    kSimdOther,  /* other SIMD and floating-point data processing */
    kLoadVector, /* loads into SIMD&FP registers */
    kLoadScalar,
    kStoreVector,
    kStoreScalar,
    kBranch,     /* branches, exception generation (svc) and system instructions */
    kScalar,     /* integer data processing (address arithmetic, loop counters) */
    kOther,
    kClasses
};
/* Lanes per instruction of the FMA classes: multiply-adds it performs. */
enum { kLaneFmaF32 = kClasses, kLaneFmaF16, kLaneDot, kLaneMulInt, kColumns };

static void classify(uint32_t i, uint32_t *column) {
    int q = (i >> 30) & 1;
    if ((i & 0xBF60FC00u) == 0x0E20CC00u || (i & 0xBFC0B400u) == 0x0F801000u) {
        column[kFmaF32]++;
        column[kLaneFmaF32] += q ? 4 : 2;
    } else if ((i & 0xBF60FC00u) == 0x0E400C00u || (i & 0xBFC0B400u) == 0x0F001000u) {
        column[kFmaF16]++;
        column[kLaneFmaF16] += q ? 8 : 4;
    } else if ((i & 0x9FE0FC00u) == 0x0E809400u || (i & 0x9FC0F400u) == 0x0F80E000u) {
        column[kDot]++;
        column[kLaneDot] += q ? 16 : 8; /* 4 byte products per 32-bit lane */
    } else if ((i & 0xBF20FC00u) == 0x0E209C00u || (i & 0x9F20FC00u) == 0x0E209400u ||
               (i & 0xBF00F400u) == 0x0F008000u || (i & 0xBF00B400u) == 0x2F000000u) {
        /* MUL, MLA/MLS (vector; by element): one product per lane of the element size */
        int size = (i >> 22) & 3;
        column[kMulInt]++;
        column[kLaneMulInt] += (q ? 16u : 8u) >> size;
    } else if ((i & 0x9F20DC00u) == 0x0E208000u || (i & 0x9F20FC00u) == 0x0E20C000u ||
               (i & 0x9F00B400u) == 0x0F002000u || (i & 0x9F00F400u) == 0x0F00A000u) {
        /* widening SMLAL/UMLAL/SMLSL/UMLSL, SMULL/UMULL (vector; by element): half a register of products */
        int size = (i >> 22) & 3;
        column[kMulInt]++;
        column[kLaneMulInt] += 8u >> size;
    } else if ((i & 0xFF200000u) == 0x1F000000u) {
        column[kFmaScalar]++;
    } else if ((i & 0x0A000000u) == 0x08000000u) { /* loads and stores */
        int load = (i >> 22) & 1, vector = (i >> 26) & 1;
        column[load ? (vector ? kLoadVector : kLoadScalar) : (vector ? kStoreVector : kStoreScalar)]++;
    } else if ((i & 0x1C000000u) == 0x14000000u) {
        column[kBranch]++;
    } else if ((i & 0x1C000000u) == 0x10000000u || (i & 0x0E000000u) == 0x0A000000u) {
        column[kScalar]++;
    } else if ((i & 0x0E000000u) == 0x0E000000u) {
        column[kSimdOther]++;
    } else {
        column[kOther]++;
    }
}

struct block {
    uint64_t vaddr, executions;
    uint32_t column[kColumns];
    struct block *next;
};

static struct block *blocks;
static char out_path[4096];

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    struct block *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t k = 0; k < n; k++) {
        const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
        uint32_t word = 0;
        if (qemu_plugin_insn_size(insn) == 4) memcpy(&word, qemu_plugin_insn_data(insn), 4);
        classify(word, b->column);
    }
    /* Translation is serialized; blocks are only read at exit. */
    b->next = blocks;
    blocks = b;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, kInlineAddU64, &b->executions, 1);
}

static void finished(qemu_plugin_id_t id, void *data) {
    (void)id, (void)data;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, "qemu_count_plugin: cannot write %s\n", out_path);
        return;
    }
    fprintf(f, "shufflec-qemu-count/1 %d\n", kColumns);
    for (struct block *b = blocks; b; b = b->next) {
        if (!b->executions) continue;
        fprintf(f, "%llx %llu", (unsigned long long)b->vaddr, (unsigned long long)b->executions);
        for (int c = 0; c < kColumns; c++) fprintf(f, " %u", b->column[c]);
        fputc('\n', f);
    }
    fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv) {
    (void)info;
    for (int k = 0; k < argc; k++)
        if (!strncmp(argv[k], "out=", 4) && strlen(argv[k] + 4) < sizeof out_path) strcpy(out_path, argv[k] + 4);
    if (!out_path[0]) {
        fprintf(stderr, "qemu_count_plugin: give out=FILE\n");
        return 1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    qemu_plugin_register_atexit_cb(id, finished, NULL);
    return 0;
}
