/*
 * fakexen_fixture.h: the fake hypervisor as an unchecked Check fixture
 * (fakexen_fixture.c). Needs FAKEXENSTORED defined to the daemon's path.
 */
#ifndef USBGATE_FAKEXEN_FIXTURE_H
#define USBGATE_FAKEXEN_FIXTURE_H

/* Its directory: <dir>/d<N>.sock is domain N, <dir>/trace its requests. */
extern char fakexen_dir[];

void fakexen_start(void);
void fakexen_stop(void);

#endif
