/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl/table.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int table_add_cell(Table *t, const char *s) {
        if (t->n_cells == t->allocated) {
                size_t a = t->allocated ? t->allocated * 2 : 64;
                char **c = reallocarray(t->cells, a, sizeof(char *));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated = a;
        }
        char *copy = strdup(s ? s : "-");
        if (!copy)
                return -ENOMEM;
        t->cells[t->n_cells++] = copy;
        return 0;
}

int table_init(Table *t, size_t n_columns, const char *const *headers) {
        assert(t);
        assert(headers);
        *t = (Table) { .n_columns = n_columns };
        if (n_columns == 0 || n_columns > TABLE_COLUMNS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_columns; i++) {
                const char *h = headers[i];
                if (h[0] == '>') {
                        t->right[i] = true;
                        h++;
                }
                int r = table_add_cell(t, h);
                if (r < 0)
                        return r;
        }
        return 0;
}

int table_add_row(Table *t, const char *const *cells) {
        assert(t);
        assert(cells);
        for (size_t i = 0; i < t->n_columns; i++) {
                int r = table_add_cell(t, cells[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

size_t table_n_rows(const Table *t) {
        return t->n_cells / t->n_columns - 1;
}

int table_print(const Table *t, bool legend, const char *legend_line, FILE *f) {
        size_t width[TABLE_COLUMNS_MAX] = {};
        size_t rows = t->n_cells / t->n_columns;

        for (size_t r = legend ? 0 : 1; r < rows; r++)
                for (size_t c = 0; c < t->n_columns; c++) {
                        size_t l = strlen(t->cells[r * t->n_columns + c]);
                        if (l > width[c])
                                width[c] = l;
                }
        for (size_t r = legend ? 0 : 1; r < rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *s = t->cells[r * t->n_columns + c];
                        bool last = c + 1 == t->n_columns;
                        if (t->right[c])
                                fprintf(f, "%*s", (int) width[c], s);
                        else if (last)
                                fputs(s, f); /* no trailing blanks */
                        else
                                fprintf(f, "%-*s", (int) width[c], s);
                        fputs(last ? "\n" : "  ", f);
                }
        }
        if (legend && legend_line)
                fprintf(f, "\n%s\n", legend_line);
        return ferror(f) ? -EIO : 0;
}

void table_done(Table *t) {
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (Table) {};
}

const char *format_bytes_human(char buf[static FORMAT_HUMAN_MAX], unsigned long long v) {
        static const char units[] = "KMGTPE";
        if (v == UINT64_MAX)
                return strcpy(buf, "-");
        if (v < 1024) {
                snprintf(buf, FORMAT_HUMAN_MAX, "%lluB", v);
                return buf;
        }
        double d = (double) v;
        size_t i = 0;
        for (d /= 1024; d >= 1024 && i + 1 < sizeof(units) - 1; i++)
                d /= 1024;
        snprintf(buf, FORMAT_HUMAN_MAX, "%.1f%c", d, units[i]);
        return buf;
}
