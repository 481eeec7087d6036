/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemctl-like tables for memqosctl: a header of upper-case names, columns
 * as wide as their widest cell, two spaces apart, and a legend line
 * ("N units listed.") below; --no-legend leaves out header and legend.
 * Pure: cells are copied, printing goes to the FILE given. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TABLE_COLUMNS_MAX 12

typedef struct Table {
        size_t n_columns;
        char **cells;   /* row-major, the header first */
        size_t n_cells, allocated;
        bool right[TABLE_COLUMNS_MAX]; /* numbers are right-aligned */
} Table;

/* headers: n_columns names; a name starting with '>' is right-aligned (the
 * '>' is not printed). -EINVAL above TABLE_COLUMNS_MAX, -ENOMEM. */
int table_init(Table *t, size_t n_columns, const char *const *headers);
/* One row of n_columns cells (NULL prints as "-"). */
int table_add_row(Table *t, const char *const *cells);
size_t table_n_rows(const Table *t);
/* Prints the table; with legend the header and then legend_line (may be NULL). */
int table_print(const Table *t, bool legend, const char *legend_line, FILE *f);
void table_done(Table *t);

/* Bytes for people: "512B", "1.5K", "200.0M", "3.0G"; "-" for UINT64_MAX. */
#define FORMAT_HUMAN_MAX 16
const char *format_bytes_human(char buf[static FORMAT_HUMAN_MAX], unsigned long long v);
