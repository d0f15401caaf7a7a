/*
 * The physical page allocator: a free list threaded through the free pages themselves, over the RAM
 * between the end of the kernel image and the end of memory the device tree reports, less the regions
 * it reserves (/reserved-memory: the store ring's page). Pages are handed out zeroed. The kernel
 * reaches every page at its physical address (memlayout.h).
 */
#include <string.h>

#include "kernel.h"

struct free_page {
  struct free_page *next;
};

static struct free_page *free_list;
static size_t free_pages, total_pages;
static uintptr_t ram_start, ram_end;

static int reserved(uintptr_t pa) {
  for (uint32_t i = 0; i < boot_info.nreserved; i++)
    if (pa + PAGE_SIZE > boot_info.reserved[i].base &&
        pa < boot_info.reserved[i].base + boot_info.reserved[i].size)
      return 1;
  return 0;
}

void kalloc_init(uintptr_t start, uintptr_t end) {
  ram_start = PAGE_ROUND_UP(start);
  ram_end = PAGE_ROUND_DOWN(end);
  /* Freed from the top down so that the list hands out low addresses first. */
  for (uintptr_t pa = ram_end; pa > ram_start;) {
    pa -= PAGE_SIZE;
    if (reserved(pa)) continue;
    struct free_page *page = (struct free_page *)pa;
    page->next = free_list;
    free_list = page;
    free_pages++;
  }
  total_pages = free_pages;
}

uintptr_t kalloc_dirty(void) {
  struct free_page *page = free_list;
  if (page == 0) return 0;
  free_list = page->next;
  free_pages--;
  return (uintptr_t)page;
}

uintptr_t kalloc(void) {
  uintptr_t page = kalloc_dirty();
  if (page != 0) memset((void *)page, 0, PAGE_SIZE);
  return page;
}

void kfree(uintptr_t pa) {
  if (pa % PAGE_SIZE != 0 || pa < ram_start || pa >= ram_end || reserved(pa)) panic("kfree: not a page of the allocator");
  struct free_page *page = (struct free_page *)pa;
  page->next = free_list;
  free_list = page;
  free_pages++;
  if (free_pages > total_pages) panic("kfree: more pages freed than exist (double free)");
}

size_t kalloc_free_pages(void) { return free_pages; }
size_t kalloc_total_pages(void) { return total_pages; }
