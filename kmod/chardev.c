// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/usbgate_hcd, the frontend's end: one session per open,
 * blocking or non-blocking read() of records, write() of records, poll().
 * The release of the last reference is the session's teardown.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "usbgate_hcd.h"

static int ugh_open(struct inode *inode, struct file *file)
{
	struct ugh_session *sess;

	sess = kzalloc(sizeof(*sess), GFP_KERNEL);
	if (!sess)
		return -ENOMEM;
	INIT_LIST_HEAD(&sess->queue);
	INIT_LIST_HEAD(&sess->inflight);
	init_waitqueue_head(&sess->wait);
	file->private_data = sess;
	return nonseekable_open(inode, file);
}

static int ugh_release(struct inode *inode, struct file *file)
{
	struct ugh_session *sess = file->private_data;

	ugh_session_detach(sess);
	kfree(sess);
	return 0;
}

static ssize_t ugh_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct ugh_session *sess = file->private_data;
	ssize_t rc;

	for (;;) {
		rc = ugh_tx_read(sess, buf, count);
		if (rc)
			return rc;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(sess->wait, ugh_tx_pending(sess)))
			return -ERESTARTSYS;
	}
}

static ssize_t ugh_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	return ugh_rx_write(file->private_data, buf, count);
}

static __poll_t ugh_poll(struct file *file, poll_table *wait)
{
	struct ugh_session *sess = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &sess->wait, wait);
	if (ugh_tx_pending(sess))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

static const struct file_operations ugh_fops = {
	.owner = THIS_MODULE,
	.open = ugh_open,
	.release = ugh_release,
	.read = ugh_read,
	.write = ugh_write,
	.poll = ugh_poll,
	.llseek = no_llseek,
};

static struct miscdevice ugh_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = UGH_NAME,
	.fops = &ugh_fops,
	.mode = 0600,
};

int ugh_chardev_init(void)
{
	return misc_register(&ugh_misc);
}

void ugh_chardev_exit(void)
{
	misc_deregister(&ugh_misc);
}
