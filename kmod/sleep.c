// SPDX-License-Identifier: GPL-2.0
/*
 * System sleep (suspend to RAM or idle, hibernation) with devices
 * attached. The frontend serving a port is a user process, frozen before
 * any device is suspended, while the device's drivers still need it then
 * (sd flushes the disk's cache, the hub reads the device's status to
 * resume it): without this, sd's SYNCHRONIZE CACHE waited 77 s on the
 * frozen frontend, the suspend failed and the device was lost.
 *
 * So at PM_SUSPEND_PREPARE, before anything is frozen, every port in use
 * is parked: the drivers of the device on it are unbound while the
 * frontend still serves them (sd flushes the cache through it), then the
 * port shows the hub a disconnect, and the sleep goes on once the USB core
 * has removed the device. The session, its channel and the backend's claim
 * in sys-usb stay as they are; a connect made meanwhile is parked too.
 * After the wake every parked port still held shows its device again and
 * the USB core enumerates it anew (its port reset reaches the device), as
 * after an unplug and a replug. If the USB core has not removed a device
 * within UGH_PARK_MS, the sleep is refused and the parked ports are shown
 * again.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/suspend.h>

#include "usbgate_hcd.h"

#define UGH_PARK_MS	30000

/* The device on port pn of hcd's root hub, referenced, or NULL. */
static struct usb_device *ugh_child(struct usb_hcd *hcd, unsigned int pn)
{
	struct usb_device *rh = hcd->self.root_hub, *udev;

	usb_lock_device(rh);
	udev = usb_hub_find_child(rh, pn);
	if (udev)
		usb_get_dev(udev);
	usb_unlock_device(rh);
	return udev;
}

/* Unbind the drivers of udev's interfaces, the device still reachable. */
static void ugh_unbind(struct usb_device *udev)
{
	struct usb_interface *intf[USB_MAXINTERFACES];
	struct usb_host_config *cfg;
	unsigned int i, n = 0;

	usb_lock_device(udev);
	cfg = udev->actconfig;
	for (i = 0; cfg && i < cfg->desc.bNumInterfaces; i++) {
		if (!cfg->interface[i])
			continue;
		intf[n] = cfg->interface[i];
		get_device(&intf[n]->dev);
		n++;
	}
	usb_unlock_device(udev);
	/* The driver core takes the device's lock itself (need_parent_lock). */
	for (i = 0; i < n; i++) {
		device_release_driver(&intf[i]->dev);
		put_device(&intf[i]->dev);
	}
}

/* Call fn(hcd, port, arg) on every root hub port of every controller. */
static int ugh_each_port(int (*fn)(struct usb_hcd *hcd, unsigned int pn,
				   void *arg),
			 void *arg)
{
	unsigned int h, ss, i;
	int rc;

	for (h = 0; h < ugh_nr_hcs; h++) {
		for (ss = 0; ss < 2; ss++) {
			for (i = 0; i < ugh_hcs[h]->nports; i++) {
				rc = fn(ugh_hcs[h]->hcd[ss], i + 1, arg);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int ugh_unbind_port(struct usb_hcd *hcd, unsigned int pn, void *arg)
{
	struct usb_device *udev = ugh_child(hcd, pn);

	if (udev) {
		ugh_unbind(udev);
		usb_put_dev(udev);
	}
	return 0;
}

/* Wait until the USB core has removed the device on the port. */
static int ugh_wait_gone(struct usb_hcd *hcd, unsigned int pn, void *arg)
{
	unsigned long deadline = *(unsigned long *)arg;
	struct usb_device *udev;

	while ((udev = ugh_child(hcd, pn))) {
		usb_put_dev(udev);
		if (time_after(jiffies, deadline)) {
			pr_warn(UGH_NAME ": system sleep refused: the device on bus %d port %u was not removed within %d ms\n",
				hcd->self.busnum, pn, UGH_PARK_MS);
			return -EBUSY;
		}
		msleep(20);
	}
	return 0;
}

/*
 * Park or show again every port in use, then let the hubs see it. Showing
 * ends the sleep for connects too, under the same lock, so that none made
 * meanwhile stays parked.
 */
static void ugh_park_all(bool park)
{
	struct ugh_port *port;
	unsigned int h, ss, i;
	unsigned long flags;

	spin_lock_irqsave(&ugh_lock, flags);
	if (!park)
		ugh_sleeping = false;
	for (h = 0; h < ugh_nr_hcs; h++) {
		for (ss = 0; ss < 2; ss++) {
			for (i = 0; i < ugh_hcs[h]->nports; i++) {
				port = &ugh_hcs[h]->ports[ss][i];
				if (!port->sess || port->parked == park)
					continue;
				ugh_port_park(port, ss, park);
				pr_info(UGH_NAME ": bus %d port %u %s\n",
					ugh_hcs[h]->hcd[ss]->self.busnum,
					i + 1, park ? "parked for system sleep" :
					"shown again after system sleep");
			}
		}
	}
	spin_unlock_irqrestore(&ugh_lock, flags);
	for (h = 0; h < ugh_nr_hcs; h++) {
		usb_hcd_poll_rh_status(ugh_hcs[h]->hcd[0]);
		usb_hcd_poll_rh_status(ugh_hcs[h]->hcd[1]);
	}
}

static int ugh_sleep_prepare(void)
{
	unsigned long flags, deadline;
	int rc;

	/*
	 * From here a connect is parked too, so that no device binds drivers
	 * after its port's unbinding below.
	 */
	spin_lock_irqsave(&ugh_lock, flags);
	ugh_sleeping = true;
	spin_unlock_irqrestore(&ugh_lock, flags);

	ugh_each_port(ugh_unbind_port, NULL);
	ugh_park_all(true);
	deadline = jiffies + msecs_to_jiffies(UGH_PARK_MS);
	rc = ugh_each_port(ugh_wait_gone, &deadline);
	if (rc)
		ugh_park_all(false);
	return rc;
}

static int ugh_pm_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	switch (action) {
	case PM_SUSPEND_PREPARE:
	case PM_HIBERNATION_PREPARE:
		return notifier_from_errno(ugh_sleep_prepare());
	case PM_POST_SUSPEND:
	case PM_POST_HIBERNATION:
		ugh_park_all(false);
		return NOTIFY_OK;
	default:
		return NOTIFY_DONE;
	}
}

static struct notifier_block ugh_pm_nb = {
	.notifier_call = ugh_pm_notify,
};

int ugh_sleep_init(void)
{
	return register_pm_notifier(&ugh_pm_nb);
}

void ugh_sleep_exit(void)
{
	unregister_pm_notifier(&ugh_pm_nb);
}
