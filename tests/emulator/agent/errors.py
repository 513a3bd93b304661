# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of the stand-in executables, mapped to exit codes as the real ones do."""


class UserInformationError(Exception):
    """Duplicati's ``UserInformationException``: printed as ``ErrorID``/``Message``, exit code 2."""

    def __init__(self, message, help_id):
        super(UserInformationError, self).__init__(message)
        self.message = message
        self.help_id = help_id


class CommandLineError(Exception):
    """A parse error of System.CommandLine: the messages go to stderr, exit code 1."""

    def __init__(self, messages):
        super(CommandLineError, self).__init__('; '.join(messages))
        self.messages = list(messages)


class RegistrationError(Exception):
    """Registration with the console failed (a plain .NET exception in the real agent: exit code 1)."""
