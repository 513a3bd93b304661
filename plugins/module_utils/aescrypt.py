# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AES Crypt streams (file format versions 2 and 3), as Duplicati reads and writes them.

Duplicati encrypts backup volumes, exported configurations and ``enc-v1:`` settings
fields with SharpAESCrypt. This module writes version 2 byte for byte the way
SharpAESCrypt 2.0.3 does, writes version 3 per the official AES Crypt specification,
and reads both.

Version 2 layout (SharpAESCrypt 2.0.3)::

    "AES" 02 00
    extensions: CREATED_BY, CREATED_DATE (yyyy-MM-dd UTC), CREATED_TIME (hh-mm-ss UTC,
                12-hour clock), a 128-byte container extension, terminator 00 00
                (the minimal header is the terminator 00 00 alone)
    header IV (16)
    AES-256-CBC(header key, header IV) over session IV (16) || session key (32)
    HMAC-SHA256(header key, those 48 bytes)
    AES-256-CBC(session key, session IV) over the plaintext; a partial last block is
        filled with 16-n bytes of value 16-n, no block is added when the length is a
        multiple of 16, an empty plaintext gives no ciphertext
    plaintext length mod 16 (1 byte, not covered by the HMAC)
    HMAC-SHA256(session key, ciphertext)

    header key: K0 = header IV || 16 zero bytes, K(i+1) = SHA256(K(i) || UTF-16LE(password)),
                8192 rounds

Version 3 differs: "AES" 03 00, extensions, the KDF iteration count (uint32 big-endian),
the header key is PBKDF2-HMAC-SHA512(UTF-8(password), header IV, iterations, 32 bytes),
the header HMAC covers the 48 bytes followed by the byte 0x03, the payload always carries
PKCS#7 padding (1-16 bytes) and there is no modulo byte.

Reading accepts any fill byte values in version 2 (the official aescrypt writes random
ones) and verifies both HMACs: a header HMAC mismatch means a wrong password, a payload
HMAC mismatch means corrupted or tampered data.

All stream functions work in chunks of ``CHUNK_SIZE`` bytes and hold back only the
trailer, so memory use does not depend on the size of the data. For inputs of more
than one chunk, the HMAC and the writing of the output run in two background threads
(both release the GIL) while the calling thread reads and runs AES, with at most three
chunks in flight.
"""


import datetime
import functools
import hashlib
import hmac
import io
import os
import queue
import struct
import threading
import traceback

from ansible_collections.duplicati.fleet.plugins.module_utils.errors import (
    AESCryptError,
    AESCryptFormatError,
    AESCryptIntegrityError,
    AESCryptTruncatedError,
    AESCryptUnsupportedVersionError,
    AESCryptWrongPasswordError,
)

try:
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


MAGIC = b'AES'
BLOCK_SIZE = 16
KEY_SIZE = 32
HMAC_SIZE = 32

#: Bytes processed per step when streaming; a multiple of the block size, at least 64.
CHUNK_SIZE = 1024 * 1024

#: SharpAESCrypt 2.0.3's header key derivation: rounds of SHA-256.
V2_KDF_ROUNDS = 8192
#: What SharpAESCrypt 2.0.3 writes as CREATED_BY (``SharpAESCrypt v<assembly version>``).
V2_CREATED_BY = 'SharpAESCrypt v2.0.3.0'
#: CREATED_BY written in version 3 files unless told otherwise. The SharpAESCrypt 3
#: source was not available, so this follows the version 2 naming rule.
V3_CREATED_BY = 'SharpAESCrypt v3.0.0.0'
#: AES Crypt's default and allowed range of PBKDF2 iterations for version 3.
V3_DEFAULT_ITERATIONS = 300000
V3_MIN_ITERATIONS = 1
V3_MAX_ITERATIONS = 5000000

SUPPORTED_VERSIONS = (2, 3)

# The container extension SharpAESCrypt reserves: length 128, empty name, 127 zero bytes.
_CONTAINER_EXTENSION = b'\x00\x80' + b'\x00' + b'\x00' * 127
_END_OF_EXTENSIONS = b'\x00\x00'


def is_aescrypt(first_bytes):
    """True if ``first_bytes`` (the start of a file, at least 3 bytes) begin with the AES Crypt magic ``AES``."""
    return bytes(first_bytes[:3]) == MAGIC


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise AESCryptError(
            'AES Crypt needs the Python package "cryptography", which is not installed on this host',
            hint='Install it (for example "pip install cryptography" or the python3-cryptography package) and retry.')


def _check_password(password, encrypting):
    if not isinstance(password, str):
        raise TypeError('the AES Crypt password must be a text string, not %s' % type(password).__name__)
    if encrypting and not password.strip():
        raise AESCryptError('Cannot encrypt with an empty AES Crypt password', hint='Give a non-empty password.')


def _aes(key, iv):
    return Cipher(algorithms.AES(key), modes.CBC(iv), backend=default_backend())


def _v2_header_key(password, iv):
    """SharpAESCrypt's 8192-round SHA-256 key stretching over UTF-16LE(password)."""
    secret = password.encode('utf-16-le', 'surrogatepass')
    key = iv + b'\x00' * (KEY_SIZE - len(iv))
    sha256 = hashlib.sha256
    for dummy in range(V2_KDF_ROUNDS):
        key = sha256(key + secret).digest()
    return key


def _v3_header_key(password, iv, iterations):
    return hashlib.pbkdf2_hmac('sha512', password.encode('utf-8', 'surrogatepass'), iv, iterations, KEY_SIZE)


def _header_hmac(version, key, encrypted_keys):
    data = encrypted_keys + b'\x03' if version == 3 else encrypted_keys
    return hmac.new(key, data, hashlib.sha256).digest()


def _extension(name, value):
    name = name.encode('utf-8')
    size = len(name) + 1 + len(value)
    if size > 0xFFFF:
        raise AESCryptError('AES Crypt header extension %r is too long (%d bytes, at most 65535)' % (name, size))
    return struct.pack('>H', size) + name + b'\x00' + value


def _extensions(minimal_header, created_by, now=None):
    if minimal_header:
        return _END_OF_EXTENSIONS
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return b''.join((
        _extension('CREATED_BY', created_by.encode('utf-8')),
        _extension('CREATED_DATE', now.strftime('%Y-%m-%d').encode('ascii')),
        # .NET "hh": the hour on a 12-hour clock, 01-12
        _extension('CREATED_TIME', now.strftime('%I-%M-%S').encode('ascii')),
        _CONTAINER_EXTENSION,
        _END_OF_EXTENSIONS,
    ))


def _read_into(src, view):
    """Fill ``view`` from ``src``; return the number of bytes read (short only at end of stream)."""
    total = 0
    size = len(view)
    readinto = getattr(src, 'readinto', None)
    while total < size:
        if readinto is not None:
            n = readinto(view[total:])
        else:
            data = src.read(size - total)
            n = len(data) if data else 0
            view[total:total + n] = data
        if not n:
            break
        total += n
    return total


def _read_exact(src, size, what):
    buf = bytearray(size)
    n = _read_into(src, memoryview(buf))
    if n != size:
        raise AESCryptTruncatedError(
            'The AES Crypt stream is truncated: it ends inside the %s (%d of %d bytes present)' % (what, n, size),
            hint='The file is incomplete; copy or download it again.')
    return bytes(buf)


def _write_all(dst, view):
    while len(view):
        n = dst.write(view)
        if n is None or n >= len(view):
            return
        view = view[n:]


def encrypt(src, dst, password, version=2, minimal_header=False, iterations=V3_DEFAULT_ITERATIONS, created_by=None):
    """Encrypt the binary file object ``src`` into the binary file object ``dst``.

    :param password: the passphrase (text).
    :param version: 2 (what Duplicati writes by default) or 3.
    :param minimal_header: write no extensions, just the terminator (Duplicati's
        ``--aes-minimal-header`` and ``enc-v1`` fields).
    :param iterations: PBKDF2 iterations for version 3 (1-5,000,000); ignored for version 2.
    :param created_by: the CREATED_BY extension text; defaults to what SharpAESCrypt writes.
    :returns: the number of plaintext bytes encrypted.
    """
    _require_cryptography()
    _check_password(password, encrypting=True)
    if version not in SUPPORTED_VERSIONS:
        raise AESCryptUnsupportedVersionError(
            'Cannot write AES Crypt version %r' % (version,), hint='Use version 2 or 3.')
    if version == 3:
        if not isinstance(iterations, int) or isinstance(iterations, bool) or \
                not V3_MIN_ITERATIONS <= iterations <= V3_MAX_ITERATIONS:
            raise AESCryptError(
                'Invalid AES Crypt v3 iteration count %r' % (iterations,),
                hint='Use a whole number from %d to %d.' % (V3_MIN_ITERATIONS, V3_MAX_ITERATIONS))
    if created_by is None:
        created_by = V2_CREATED_BY if version == 2 else V3_CREATED_BY

    header_iv = os.urandom(BLOCK_SIZE)
    session_iv = os.urandom(BLOCK_SIZE)
    session_key = os.urandom(KEY_SIZE)
    if version == 2:
        header_key = _v2_header_key(password, header_iv)
    else:
        header_key = _v3_header_key(password, header_iv, iterations)
    wrap = _aes(header_key, header_iv).encryptor()
    encrypted_keys = wrap.update(session_iv + session_key) + wrap.finalize()

    header = [MAGIC, bytes(bytearray([version, 0])), _extensions(minimal_header, created_by)]
    if version == 3:
        header.append(struct.pack('>I', iterations))
    header.extend((header_iv, encrypted_keys, _header_hmac(version, header_key, encrypted_keys)))
    _write_all(dst, memoryview(b''.join(header)))

    total = _encrypt_payload(src, dst, version, session_key, session_iv)
    return total


class _OrderedWorker(object):
    """Runs submitted calls one after another, in submission order, in a background thread.

    hashlib/HMAC updates and file writes release the GIL, so running them here overlaps
    them with the AES work of the calling thread. After a call fails, later calls are
    skipped (their tickets are still set) and the error is kept in ``error``.
    """

    def __init__(self):
        self.error = None
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name='aescrypt-worker')
        self._thread.daemon = True
        self._thread.start()

    def submit(self, func, *args):
        """Queue ``func(*args)``; return an Event set once it has run (or been skipped)."""
        done = threading.Event()
        self._queue.put((func, args, done))
        return done

    def _run(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            func, args, done = item
            if self.error is None:
                try:
                    func(*args)
                except BaseException as exc:  # handed to the calling thread by close()
                    self.error = exc
            done.set()

    def close(self):
        """Wait for all queued calls, stop the thread and re-raise the first error, if any."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


class _Pipeline(object):
    """Two ordered workers (HMAC, output writer) and a ring of buffer slots.

    A slot's buffers are handed to the workers; ``take_slot`` waits until the workers
    are done with the slot before it is reused, so at most ``SLOTS`` chunks are in flight
    and memory stays constant.
    """

    SLOTS = 3

    def __init__(self, mac, dst, slot_buffers):
        self.mac = _OrderedWorker()
        self.writer = _OrderedWorker()
        self._mac_update = mac.update
        self._write = functools.partial(_write_all, dst)
        self._slots = [(bufs, []) for bufs in slot_buffers]
        self._next = 0

    def failed(self):
        return self.mac.error is not None or self.writer.error is not None

    def take_slot(self):
        bufs, tickets = self._slots[self._next]
        self._next = (self._next + 1) % len(self._slots)
        for ticket in tickets:
            ticket.wait()
        del tickets[:]
        return bufs, tickets

    def hash(self, tickets, view):
        tickets.append(self.mac.submit(self._mac_update, view))

    def write(self, tickets, view):
        tickets.append(self.writer.submit(self._write, view))

    def close(self):
        try:
            self.mac.close()
        finally:
            self.writer.close()


def _pipeline(mac, dst, *sizes):
    """A ``_Pipeline`` whose slots each hold fresh buffers of the given sizes (as memoryviews)."""
    slots = [tuple(memoryview(bytearray(size)) for size in sizes) for dummy in range(_Pipeline.SLOTS)]
    return _Pipeline(mac, dst, slots)


def _encrypt_payload(src, dst, version, key, iv):
    encryptor = _aes(key, iv).encryptor()
    mac = hmac.new(key, digestmod=hashlib.sha256)
    inbuf = bytearray(CHUNK_SIZE)
    inview = memoryview(inbuf)
    pipeline = None
    total = 0
    try:
        while True:
            n = _read_into(src, inview)
            total += n
            if n < CHUNK_SIZE:
                break
            # full chunks: AES here, HMAC and writing in the workers
            if pipeline is None:
                pipeline = _pipeline(mac, dst, CHUNK_SIZE + BLOCK_SIZE)
            (outview,), tickets = pipeline.take_slot()
            if pipeline.failed():
                break
            size = encryptor.update_into(inview, outview)
            pipeline.hash(tickets, outview[:size])
            pipeline.write(tickets, outview[:size])
    finally:
        if pipeline is not None:
            pipeline.close()

    # the last, short chunk: pad it by hand
    rem = n % BLOCK_SIZE
    if rem or version == 3:
        fill = BLOCK_SIZE - rem
        inbuf[n:n + fill] = bytearray([fill]) * fill
        n += fill
    outview = memoryview(bytearray(n + BLOCK_SIZE))
    size = encryptor.update_into(inview[:n], outview) if n else 0
    encryptor.finalize()
    mac.update(outview[:size])
    trailer = [bytes(outview[:size])]
    if version == 2:
        trailer.append(bytes(bytearray([total % BLOCK_SIZE])))
    trailer.append(mac.digest())
    _write_all(dst, memoryview(b''.join(trailer)))
    return total


def _read_header(src):
    """Read the header up to and including the header HMAC; return a dict of its parts."""
    start = bytearray(5)
    n = _read_into(src, memoryview(start))
    if bytes(start[:min(n, 3)]) != MAGIC[:min(n, 3)]:
        raise AESCryptFormatError(
            'The data is not an AES Crypt stream (it does not start with "AES")',
            hint='Check that this is a Duplicati-encrypted (.aes) file.')
    if n < 5:
        raise AESCryptTruncatedError(
            'The AES Crypt stream is truncated: it ends inside the file signature (%d of 5 bytes present)' % n,
            hint='The file is incomplete; copy or download it again.')
    version = start[3]
    if version not in SUPPORTED_VERSIONS:
        raise AESCryptUnsupportedVersionError(
            'AES Crypt file format version %d is not supported' % version,
            hint='Only versions 2 and 3 can be read (Duplicati rejects versions 0 and 1 as well).')
    if start[4] != 0:
        raise AESCryptFormatError('The AES Crypt header is malformed: reserved byte is %d, not 0' % start[4])

    extensions = []
    while True:
        size = struct.unpack('>H', _read_exact(src, 2, 'header extensions'))[0]
        if size == 0:
            break
        data = _read_exact(src, size, 'header extensions')
        sep = data.find(b'\x00')
        if sep < 0:
            raise AESCryptFormatError('The AES Crypt header is malformed: an extension has no name separator')
        extensions.append((data[:sep].decode('utf-8', 'replace'), data[sep + 1:]))

    iterations = None
    if version == 3:
        iterations = struct.unpack('>I', _read_exact(src, 4, 'KDF iteration count'))[0]
        if not V3_MIN_ITERATIONS <= iterations <= V3_MAX_ITERATIONS:
            raise AESCryptFormatError(
                'The AES Crypt header is malformed: KDF iteration count %d is outside %d-%d'
                % (iterations, V3_MIN_ITERATIONS, V3_MAX_ITERATIONS))
    header_iv = _read_exact(src, BLOCK_SIZE, 'header IV')
    encrypted_keys = _read_exact(src, BLOCK_SIZE + KEY_SIZE, 'encrypted session key')
    header_mac = _read_exact(src, HMAC_SIZE, 'header HMAC')
    return dict(version=version, extensions=extensions, iterations=iterations, iv=header_iv,
                encrypted_keys=encrypted_keys, hmac=header_mac)


def decrypt(src, dst, password):
    """Decrypt the AES Crypt (v2 or v3) binary file object ``src`` into the binary file object ``dst``.

    :returns: the file format version read (2 or 3).

    The plaintext is written as it is decrypted and the payload HMAC can only be checked
    at the end: on any error ``dst`` may hold partial, unauthenticated output. Write to a
    temporary file and discard it when this raises.
    """
    _require_cryptography()
    _check_password(password, encrypting=False)
    header = _read_header(src)
    version = header['version']
    if version == 2:
        header_key = _v2_header_key(password, header['iv'])
    else:
        header_key = _v3_header_key(password, header['iv'], header['iterations'])
    expected = _header_hmac(version, header_key, header['encrypted_keys'])
    if not hmac.compare_digest(expected, header['hmac']):
        raise AESCryptWrongPasswordError(
            'The AES Crypt password is wrong (or the file header is damaged)',
            hint='Check the passphrase.')
    unwrap = _aes(header_key, header['iv']).decryptor()
    session = unwrap.update(header['encrypted_keys']) + unwrap.finalize()
    _decrypt_payload(src, dst, version, session[BLOCK_SIZE:], session[:BLOCK_SIZE])
    return version


def _decrypt_payload(src, dst, version, key, iv):
    decryptor = _aes(key, iv).decryptor()
    mac = hmac.new(key, digestmod=hashlib.sha256)
    trailer = HMAC_SIZE + (1 if version == 2 else 0)
    # The trailer and the last block stay unprocessed until the end of the stream is seen.
    hold = trailer + BLOCK_SIZE
    bufsize = CHUNK_SIZE + hold + BLOCK_SIZE
    view = memoryview(bytearray(bufsize))
    view_tickets = []
    pipeline = None
    have = 0
    try:
        while True:
            n = _read_into(src, view[have:have + CHUNK_SIZE])
            have += n
            if n < CHUNK_SIZE:
                break
            # full chunks: AES here, HMAC and writing in the workers
            if pipeline is None:
                pipeline = _pipeline(mac, dst, bufsize, bufsize + BLOCK_SIZE)
            ready = (have - hold) // BLOCK_SIZE * BLOCK_SIZE
            (nextview, outview), next_tickets = pipeline.take_slot()
            if pipeline.failed():
                break
            # `view` goes to the HMAC worker (its slot's tickets track that); the held-back
            # bytes move to the front of the next slot's input buffer
            nextview[:have - ready] = view[ready:have]
            pipeline.hash(view_tickets, view[:ready])
            size = decryptor.update_into(view[:ready], outview)
            pipeline.write(next_tickets, outview[:size])
            view, view_tickets = nextview, next_tickets
            have -= ready
    finally:
        if pipeline is not None:
            pipeline.close()

    # `have` bytes remain: the last ciphertext blocks and the trailer.
    body = have - trailer
    if body < 0 or body % BLOCK_SIZE or (version == 3 and body == 0):
        raise AESCryptTruncatedError(
            'The AES Crypt stream is truncated: the encrypted data does not end on a block boundary followed by the trailer',
            hint='The file is incomplete; copy or download it again.')
    mac.update(view[:body])
    if not hmac.compare_digest(mac.digest(), bytes(view[have - HMAC_SIZE:have])):
        raise AESCryptIntegrityError(
            'The AES Crypt data is corrupted or was tampered with (payload HMAC mismatch)',
            hint='Do not trust this file; restore it from another copy.')
    outview = memoryview(bytearray(body + BLOCK_SIZE))
    size = decryptor.update_into(view[:body], outview) if body else 0
    decryptor.finalize()
    if version == 2:
        mod = view[body]
        if mod >= BLOCK_SIZE or (body == 0 and mod != 0):
            raise AESCryptIntegrityError(
                'The AES Crypt data is corrupted or was tampered with (invalid length byte %d)' % mod,
                hint='Do not trust this file; restore it from another copy.')
        if mod:
            size -= BLOCK_SIZE - mod
    else:
        fill = outview[size - 1]
        if not 1 <= fill <= BLOCK_SIZE or bytes(outview[size - fill:size]) != bytes(bytearray([fill])) * fill:
            raise AESCryptFormatError('The AES Crypt v3 data has invalid PKCS#7 padding')
        size -= fill
    _write_all(dst, outview[:size])


def encrypt_bytes(data, password, **kwargs):
    """Encrypt ``data`` (bytes) and return the AES Crypt stream as bytes; keyword arguments as for ``encrypt``."""
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, password, **kwargs)
    return out.getvalue()


def decrypt_bytes(blob, password):
    """Decrypt an AES Crypt stream held in ``blob`` (bytes) and return the plaintext bytes."""
    out = io.BytesIO()
    decrypt(io.BytesIO(blob), out, password)
    return out.getvalue()
