/*
 * ifclass.h: the interface classes dom0 decided an imported device may show
 * (IMPORT's class set: what its policy judged in every configuration and
 * alternate setting, minus what the backend is told to hide), checked
 * against what the backend shows.
 *
 * The AppVM's kernel learns a device's interfaces from one place only: the
 * configuration descriptors it reads with GET_DESCRIPTOR through the
 * session. So the session checks every interface descriptor of every such
 * answer (any configuration, any alternate setting, other-speed too) before
 * it reaches vhci: a class outside the set ends the session (FE_E_IDENTITY),
 * the answer is never given, the port goes away, and dom0 hears MISMATCH.
 * The backend's interface_info (at connect, and after each configuration
 * change) is checked too: a backend that announces a foreign class is
 * refused before a port is attached. The check runs in the session child,
 * the only process that sees the bytes; a compromised child could skip it,
 * but it could also write any descriptor to vhci, which the sandbox bounds.
 *
 * "Match" is by class triple (class, subclass, protocol), as policy judges
 * (with-interface, deny-interface): interface numbers and alternate
 * settings name nothing policy looked at. A descriptor of length < 2 makes
 * the rest unparseable for us but not for every parser in the AppVM, so it
 * ends the session as well.
 */
#ifndef USBGATE_FE_IFCLASS_H
#define USBGATE_FE_IFCLASS_H

#include <stddef.h>
#include <stdint.h>

#define FE_CLASSES_MAX	255	/* as IMPORT carries them */

struct fe_classes {
	int check;		/* 0: no set (an attach without dom0) */
	int n;
	uint8_t c[FE_CLASSES_MAX][3];	/* class, subclass, protocol */
};

/* Does the set allow this class (or is there no set)? */
int fe_classes_allow(const struct fe_classes *set, uint8_t cls, uint8_t sub,
    uint8_t proto);

/*
 * Check every interface descriptor in an answer to GET_DESCRIPTOR of a
 * configuration (possibly cut short by wLength; bytes past wTotalLength are
 * ignored, as the kernel ignores them). Returns 0, or -1 with one line on
 * the first offence in why.
 */
int fe_classes_check_config(const struct fe_classes *set,
    const uint8_t *untrusted_desc, size_t len, char *why, size_t whylen);

#endif
