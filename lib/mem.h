/* Memory a long-lived process inherited and will not use. */
#ifndef HUTCH_MEM_H
#define HUTCH_MEM_H

#include <stddef.h>

/* Gives back what a process forked from a busy parent holds but will not
 * touch again: free heap, and the clean file pages (program text, read-only
 * data) of every shared object the parent faulted in.  The pages stay in
 * the page cache and come back on a minor fault when used; pages the
 * process copied on write are never dropped, so nothing it holds changes.
 * Returns the number of bytes unmapped from this process's page tables. */
size_t hutch_release_inherited_memory(void);

#endif
