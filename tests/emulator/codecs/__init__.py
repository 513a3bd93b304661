# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator's own codecs, written from Duplicati's C# source (and the libraries it uses),
never from the collection's ``plugins/``, so that a round trip between the collection and the
emulator compares two independent readings of the format:

* ``aescrypt``: SharpAESCrypt's ``EncryptingStream`` / ``DecryptingStream`` (AES Crypt files);
* ``encrypted_field``: ``Duplicati.Library.Encryption.EncryptedFieldHelper`` and
  ``AESStringEncryption`` (``enc-v1:`` settings fields);
* ``timeparser``: ``Duplicati.Library.Utility.Timeparser.ParseTimeSpan``;
* ``jsonsignature``: ``JsonSignature.JSONSignature`` (``//SIGJSONv1:`` signed manifests).
"""
