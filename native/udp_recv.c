/*
 * fleetban's UDP receiver: a bound datagram socket read with recvmmsg(2), many datagrams per
 * system call and none through libuv's one-callback-per-datagram path. The receiving thread
 * (dist/src/ingest/udp-receiver.js) calls receive() in a loop; each call fills caller-owned
 * slots and returns how many it filled.
 *
 *   open(address, port, recvBufferSize) -> [fd, boundPort, grantedRecvBufferSize]
 *   receive(fd, slots, slotSize, lengths, peers, waitMs) -> count, or -errno
 *     slots    Buffer of n * slotSize bytes: datagram i is written at i * slotSize
 *     lengths  Int32Array(n): bytes of datagram i, or -1 when it did not fit its slot
 *     peers    Uint32Array(5n): [4, s_addr, 0, 0, 0] for IPv4 (IPv4-mapped IPv6 included),
 *              [6, w0, w1, w2, w3] for IPv6, words as they lie in memory (network byte order)
 *     waitMs   0: return at once; > 0: wait up to that long for the first datagram
 *   close(fd)
 *
 * Sockets still open when the thread's environment ends (the thread was terminated) are closed
 * then, so a replacement thread can bind the same port.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define MAX_OPEN 16

typedef struct {
  int fds[MAX_OPEN];
} Instance;

static void close_all(void *data) {
  Instance *self = data;
  for (int i = 0; i < MAX_OPEN; i++) {
    if (self->fds[i] >= 0) close(self->fds[i]);
    self->fds[i] = -1;
  }
}

static void finalize_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  close_all(data);
  free(data);
}

static Instance *instance(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static void remember(napi_env env, int fd) {
  Instance *self = instance(env);
  for (int i = 0; i < MAX_OPEN; i++) {
    if (self->fds[i] < 0) {
      self->fds[i] = fd;
      return;
    }
  }
}

static int forget(napi_env env, int fd) {
  Instance *self = instance(env);
  for (int i = 0; i < MAX_OPEN; i++) {
    if (self->fds[i] == fd) {
      self->fds[i] = -1;
      return 1;
    }
  }
  return 0;
}

static int count_open(napi_env env) {
  Instance *self = instance(env);
  int n = 0;
  for (int i = 0; i < MAX_OPEN; i++) n += self->fds[i] >= 0;
  return n;
}

/* Throws an Error whose code is the errno name, like Node's own socket errors. */
static napi_value throw_errno(napi_env env, const char *syscall, int err, const char *where) {
  char message[160];
  const char *name = err == EADDRINUSE      ? "EADDRINUSE"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : err == EACCES        ? "EACCES"
                     : err == EINVAL        ? "EINVAL"
                     : err == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                     : err == EMFILE        ? "EMFILE"
                                            : "EIO";
  snprintf(message, sizeof message, "%s %s %s (%s)", syscall, name, where, strerror(err));
  napi_throw_error(env, name, message);
  return NULL;
}

static int arg_int(napi_env env, napi_value value, int32_t *out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char address[INET6_ADDRSTRLEN + 1];
  size_t length = 0;
  int32_t port = 0, rcvbuf = 0;
  if (argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], address, sizeof address, &length) != napi_ok ||
      !arg_int(env, argv[1], &port) || !arg_int(env, argv[2], &rcvbuf) || port < 0 ||
      port > 65535) {
    napi_throw_type_error(env, NULL, "open(address: string, port: number, recvBufferSize: number)");
    return NULL;
  }
  if (count_open(env) >= MAX_OPEN) return throw_errno(env, "socket", EMFILE, address);

  struct sockaddr_storage sa;
  socklen_t sa_len;
  memset(&sa, 0, sizeof sa);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    sa_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    sa_len = sizeof *v6;
  } else {
    return throw_errno(env, "bind", EINVAL, address);
  }
  char where[INET6_ADDRSTRLEN + 16];
  snprintf(where, sizeof where, "%s:%d", address, port);

  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno, where);
  if (sa.ss_family == AF_INET6) {
    int off = 0; /* dual stack, as Node's udp6 sockets */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (struct sockaddr *)&sa, sa_len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err, where);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);
  int bound_port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                    : ((struct sockaddr_in6 *)&bound)->sin6_port);
  int granted = 0;
  socklen_t granted_len = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &granted_len);
  remember(env, fd);

  napi_value result, item;
  napi_create_array_with_length(env, 3, &result);
  napi_create_int32(env, fd, &item);
  napi_set_element(env, result, 0, item);
  napi_create_int32(env, bound_port, &item);
  napi_set_element(env, result, 1, item);
  napi_create_int32(env, granted, &item);
  napi_set_element(env, result, 2, item);
  return result;
}

static int typed_array(napi_env env, napi_value value, napi_typedarray_type want, void **data,
                       size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok)
    return 0;
  return type == want;
}

static napi_value js_receive(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, slot_size = 0, wait_ms = 0;
  void *slots = NULL, *lengths_data = NULL, *peers_data = NULL;
  size_t slots_len = 0, lengths_len = 0, peers_len = 0;
  if (argc < 6 || !arg_int(env, argv[0], &fd) ||
      !typed_array(env, argv[1], napi_uint8_array, &slots, &slots_len) ||
      !arg_int(env, argv[2], &slot_size) ||
      !typed_array(env, argv[3], napi_int32_array, &lengths_data, &lengths_len) ||
      !typed_array(env, argv[4], napi_uint32_array, &peers_data, &peers_len) ||
      !arg_int(env, argv[5], &wait_ms) || slot_size <= 0) {
    napi_throw_type_error(env, NULL,
                          "receive(fd, slots: Buffer, slotSize, lengths: Int32Array, "
                          "peers: Uint32Array, waitMs)");
    return NULL;
  }
  int32_t *lengths = lengths_data;
  uint32_t *peers = peers_data;
  size_t n = slots_len / (size_t)slot_size;
  if (lengths_len < n) n = lengths_len;
  if (peers_len / 5 < n) n = peers_len / 5;
  if (n > MAX_BATCH) n = MAX_BATCH;
  napi_value result;
  if (n == 0) {
    napi_create_int32(env, 0, &result);
    return result;
  }

  if (wait_ms > 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ready = poll(&p, 1, wait_ms);
    if (ready <= 0) {
      napi_create_int32(env, ready < 0 && errno != EINTR ? -errno : 0, &result);
      return result;
    }
  }

  static __thread struct mmsghdr headers[MAX_BATCH];
  static __thread struct iovec vectors[MAX_BATCH];
  static __thread struct sockaddr_storage names[MAX_BATCH];
  for (size_t i = 0; i < n; i++) {
    vectors[i].iov_base = (char *)slots + i * (size_t)slot_size;
    vectors[i].iov_len = (size_t)slot_size;
    memset(&headers[i].msg_hdr, 0, sizeof headers[i].msg_hdr);
    headers[i].msg_hdr.msg_iov = &vectors[i];
    headers[i].msg_hdr.msg_iovlen = 1;
    headers[i].msg_hdr.msg_name = &names[i];
    headers[i].msg_hdr.msg_namelen = sizeof names[i];
  }
  int got = recvmmsg(fd, headers, (unsigned)n, MSG_DONTWAIT, NULL);
  if (got < 0) {
    int err = errno;
    napi_create_int32(env, err == EAGAIN || err == EWOULDBLOCK || err == EINTR ? 0 : -err,
                      &result);
    return result;
  }
  for (int i = 0; i < got; i++) {
    lengths[i] = headers[i].msg_hdr.msg_flags & MSG_TRUNC ? -1 : (int32_t)headers[i].msg_len;
    uint32_t *peer = peers + 5 * i;
    const struct sockaddr_storage *name = &names[i];
    if (name->ss_family == AF_INET) {
      peer[0] = 4;
      memcpy(&peer[1], &((const struct sockaddr_in *)name)->sin_addr, 4);
      peer[2] = peer[3] = peer[4] = 0;
    } else {
      const struct in6_addr *a = &((const struct sockaddr_in6 *)name)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED(a)) {
        peer[0] = 4;
        memcpy(&peer[1], &a->s6_addr[12], 4);
        peer[2] = peer[3] = peer[4] = 0;
      } else {
        peer[0] = 6;
        memcpy(&peer[1], a->s6_addr, 16);
      }
    }
  }
  napi_create_int32(env, got, &result);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  if (argc < 1 || !arg_int(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "close(fd: number)");
    return NULL;
  }
  if (forget(env, fd)) close(fd);
  return NULL;
}

NAPI_MODULE_INIT() {
  Instance *self = malloc(sizeof *self);
  if (self == NULL) {
    napi_throw_error(env, NULL, "udp_recv: out of memory");
    return NULL;
  }
  for (int i = 0; i < MAX_OPEN; i++) self->fds[i] = -1;
  napi_set_instance_data(env, self, finalize_instance, NULL);
  napi_property_descriptor methods[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"receive", NULL, js_receive, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}
