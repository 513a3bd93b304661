# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throughput and memory benchmark of plugins/module_utils/aescrypt.py.

    python benchmarks/aescrypt_bench.py [--size-mib 256] [--repeat 3] [--skip-rss]

Prints AES Crypt v2 encrypt and decrypt throughput (MB/s, 10^6 bytes per second) of:

* ours      - aescrypt.encrypt/decrypt, streaming file -> file in a temp dir
* pyAesCrypt - encryptStream/decryptStream, the same files, the same buffer size
* raw       - AES-256-CBC (cryptography, update_into) + HMAC-SHA256 (OpenSSL) over the
              same number of bytes, in memory, in the same chunk size, with no file I/O

and the ratios ours/raw and ours/pyAesCrypt (best of --repeat runs each). Then it
measures the peak RSS of a child process that encrypts and decrypts a 64 MiB and a
1 GiB file through ``aescrypt`` (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``),
next to the peak RSS of a child that only imports the module.

Targets: ours >= 0.85 x raw, ours >= 1.0 x pyAesCrypt, RSS flat and below 64 MiB.
"""

from __future__ import absolute_import, division, print_function

import argparse
import hashlib
import hmac
import os
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024
PASSWORD = 'benchmark passphrase'


def _collection_path():
    """Make ``ansible_collections.duplicati.fleet`` importable: PYTHONPATH, or the repo around this script."""
    try:
        import ansible_collections.duplicati.fleet  # noqa: F401 pylint: disable=unused-import
        return None
    except ImportError:
        pass
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # The repo is the collection root; build ansible_collections/duplicati/fleet -> repo in a temp dir.
    root = tempfile.mkdtemp(prefix='dfleet-bench-path-')
    os.makedirs(os.path.join(root, 'ansible_collections', 'duplicati'))
    os.symlink(repo, os.path.join(root, 'ansible_collections', 'duplicati', 'fleet'))
    sys.path.insert(0, root)
    os.environ['PYTHONPATH'] = root + os.pathsep + os.environ.get('PYTHONPATH', '')
    return root


def _write_random_file(path, size):
    """Pseudo-random content without holding it in memory: a random MiB block, varied per MiB."""
    block = bytearray(os.urandom(MIB))
    with open(path, 'wb') as f:
        left = size
        counter = 0
        while left > 0:
            block[:8] = counter.to_bytes(8, 'big')
            counter += 1
            n = min(left, MIB)
            f.write(memoryview(block)[:n])
            left -= n


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(MIB), b''):
            h.update(chunk)
    return h.hexdigest()


def _best(runs, func, output=None):
    """Fastest of ``runs`` calls of ``func``. Before each, the output file is removed and
    dirty pages are flushed, so no run pays for the page cache work of the one before."""
    best = None
    for dummy in range(runs):
        if output and os.path.exists(output):
            os.unlink(output)
        os.sync()
        start = time.perf_counter()
        func()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return best


def _raw(size, chunk, decrypting):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = os.urandom(32)
    iv = os.urandom(16)
    data = memoryview(bytearray(os.urandom(chunk)))
    out = memoryview(bytearray(chunk + 16))

    def run():
        cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
        ctx = cipher.decryptor() if decrypting else cipher.encryptor()
        mac = hmac.new(key, digestmod=hashlib.sha256)
        left = size
        while left > 0:
            n = ctx.update_into(data, out)
            mac.update(data if decrypting else out[:n])
            left -= chunk
        mac.digest()
    return run


def _rss_child(size_mib, tmp):
    """Run in a fresh process: encrypt + decrypt a file of size_mib through aescrypt (0 = import only)."""
    from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt
    if size_mib:
        src = os.path.join(tmp, 'rss-plain')
        enc = os.path.join(tmp, 'rss-enc')
        dec = os.path.join(tmp, 'rss-dec')
        _write_random_file(src, size_mib * MIB)
        with open(src, 'rb') as fin, open(enc, 'wb') as fout:
            aescrypt.encrypt(fin, fout, PASSWORD)
        with open(enc, 'rb') as fin, open(dec, 'wb') as fout:
            aescrypt.decrypt(fin, fout, PASSWORD)
        if os.path.getsize(dec) != size_mib * MIB:
            raise SystemExit('size mismatch after decrypting')
        for path in (src, enc, dec):
            os.unlink(path)


def _measure_rss(size_mib, tmp):
    """Peak RSS (MiB) of a child doing the work, read by a fresh intermediate process."""
    code = (
        'import resource, subprocess, sys\n'
        'subprocess.check_call([sys.executable, %r, "--rss-child", "%d", "--tmp", %r])\n'
        'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n'
    ) % (os.path.abspath(__file__), size_mib, tmp)
    out = subprocess.check_output([sys.executable, '-c', code])
    return int(out.decode().strip().splitlines()[-1]) / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--size-mib', type=int, default=256)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--skip-rss', action='store_true')
    parser.add_argument('--rss-child', type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument('--tmp', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    _collection_path()
    if args.rss_child is not None:
        _rss_child(args.rss_child, args.tmp)
        return 0

    import pyAesCrypt
    from ansible_collections.duplicati.fleet.plugins.module_utils import aescrypt

    size = args.size_mib * MIB
    chunk = aescrypt.CHUNK_SIZE
    tmp = tempfile.mkdtemp(prefix='dfleet-bench-')
    try:
        plain = os.path.join(tmp, 'plain')
        ours_enc = os.path.join(tmp, 'ours.aes')
        ours_dec = os.path.join(tmp, 'ours.dec')
        py_enc = os.path.join(tmp, 'py.aes')
        py_dec = os.path.join(tmp, 'py.dec')
        _write_random_file(plain, size)

        def ours_encrypt():
            with open(plain, 'rb') as fin, open(ours_enc, 'wb') as fout:
                aescrypt.encrypt(fin, fout, PASSWORD)

        def ours_decrypt():
            with open(ours_enc, 'rb') as fin, open(ours_dec, 'wb') as fout:
                aescrypt.decrypt(fin, fout, PASSWORD)

        def py_encrypt():
            with open(plain, 'rb') as fin, open(py_enc, 'wb') as fout:
                pyAesCrypt.encryptStream(fin, fout, PASSWORD, chunk)

        def py_decrypt():
            with open(py_enc, 'rb') as fin, open(py_dec, 'wb') as fout:
                pyAesCrypt.decryptStream(fin, fout, PASSWORD, chunk)

        results = {}
        for name, func, output in (('ours encrypt', ours_encrypt, ours_enc), ('ours decrypt', ours_decrypt, ours_dec),
                                   ('pyAesCrypt encrypt', py_encrypt, py_enc), ('pyAesCrypt decrypt', py_decrypt, py_dec),
                                   ('raw encrypt', _raw(size, chunk, False), None),
                                   ('raw decrypt', _raw(size, chunk, True), None)):
            results[name] = size / _best(args.repeat, func, output) / 1e6

        want = _file_digest(plain)
        for path in (ours_dec, py_dec):
            if _file_digest(path) != want:
                raise SystemExit('%s does not match the plaintext' % path)
        # cross-check: our output decrypts with pyAesCrypt
        with open(ours_enc, 'rb') as fin, open(py_dec, 'wb') as fout:
            pyAesCrypt.decryptStream(fin, fout, PASSWORD, chunk)
        if _file_digest(py_dec) != want:
            raise SystemExit('pyAesCrypt could not decrypt our output')

        print('AES Crypt v2, %d MiB, chunk %d KiB, best of %d, %s, cryptography %s'
              % (args.size_mib, chunk // 1024, args.repeat, sys.version.split()[0], _cryptography_version()))
        print('')
        print('%-10s %12s %12s %12s %10s %12s' % ('operation', 'ours MB/s', 'pyAesCrypt', 'raw MB/s', 'ours/raw', 'ours/pyAes'))
        for op in ('encrypt', 'decrypt'):
            ours = results['ours ' + op]
            py = results['pyAesCrypt ' + op]
            raw = results['raw ' + op]
            print('%-10s %12.0f %12.0f %12.0f %9.2fx %11.2fx' % (op, ours, py, raw, ours / raw, ours / py))

        if not args.skip_rss:
            print('')
            print('peak RSS of a child process (encrypt + decrypt through files):')
            for label, mib in (('import only', 0), ('64 MiB', 64), ('1 GiB', 1024)):
                print('  %-12s %8.1f MiB' % (label, _measure_rss(mib, tmp)))
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    return 0


def _cryptography_version():
    import cryptography
    return cryptography.__version__


if __name__ == '__main__':
    sys.exit(main())
