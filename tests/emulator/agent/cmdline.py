# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parts of System.CommandLine 2.0.0-beta4 that ``duplicati-agent`` relies on.

Option names are case-sensitive; values come as ``--name value``, ``--name=value`` or
``--name:value``; a bool option alone means true and takes ``true``/``false`` (any case) as
its value; a token that is no known option or command is an argument (so ``register`` takes
it as its URL) or else "Unrecognized command or argument"; a scalar option given twice is an
error; the help aliases print help and exit 0; a root command without handler fails with
"Required command was not provided.". Parse errors go to stderr and exit with 1.
"""

from .errors import CommandLineError

HELP_ALIASES = ('-h', '/h', '--help', '-?', '/?', 'help', '/help', 'usage', '/usage', '--usage')


class HelpRequested(Exception):
    def __init__(self, command):
        super(HelpRequested, self).__init__(command)
        self.command = command


class VersionRequested(Exception):
    pass


class Option(object):
    """``kind`` is ``string``, ``bool``, ``file``, ``dir`` or a tuple of enum names."""

    def __init__(self, name, kind, default, description=''):
        self.name = name
        self.kind = kind
        self.default = default
        self.description = description

    @property
    def dest(self):
        return self.name.lstrip('-').replace('-', '_')

    def convert(self, value):
        if self.kind == 'bool':
            if value.lower() in ('true', 'false'):
                return value.lower() == 'true'
            raise CommandLineError(["Cannot parse argument '%s' for option '%s' as expected type 'System.Boolean'." % (value, self.name)])
        if isinstance(self.kind, tuple):
            for name in self.kind:
                if name.lower() == value.lower():
                    return name
            raise CommandLineError(["Argument '%s' not recognized. Must be one of:\n\t%s" % (value, '\n\t'.join("'%s'" % n for n in self.kind))])
        return value


class Command(object):
    def __init__(self, name, description, options, argument=None):
        self.name = name
        self.description = description
        self.options = options
        self.argument = argument  # (name, default callable) for one optional positional

    def option(self, token):
        for opt in self.options:
            if opt.name == token:
                return opt
        return None


def _is_bool_text(value):
    return value.lower() in ('true', 'false')


def _is_option_token(command, token):
    if command.option(token) is not None or token in HELP_ALIASES:
        return True
    return any(sep in token and command.option(token.split(sep, 1)[0]) is not None for sep in ('=', ':'))


def parse(root_name, commands, tokens):
    """Returns ``(command, values)``; ``values`` maps option dest (and the argument name) to a value.

    Raises HelpRequested, VersionRequested or CommandLineError."""
    by_name = dict((c.name, c) for c in commands)
    if any(t in HELP_ALIASES for t in tokens):
        command = by_name.get(tokens[0]) if tokens else None
        raise HelpRequested(command)
    if tokens == ['--version']:
        raise VersionRequested()
    if not tokens or tokens[0] not in by_name:
        errors = ['Required command was not provided.']
        errors += ["Unrecognized command or argument '%s'." % t for t in tokens]
        raise CommandLineError(errors)
    command = by_name[tokens[0]]
    given, arguments, errors = {}, [], []
    rest = tokens[1:]
    only_arguments = False
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if only_arguments:
            arguments.append(token)
            continue
        if token == '--':
            only_arguments = True
            continue
        option, inline = command.option(token), None
        if option is None:
            for sep in ('=', ':'):
                if sep in token:
                    head, tail = token.split(sep, 1)
                    if command.option(head) is not None:
                        option, inline = command.option(head), tail
                        break
        if option is None:
            arguments.append(token)
            continue
        values = given.setdefault(option.name, [])
        if inline is not None:
            values.append(inline)
        elif option.kind == 'bool':
            if i < len(rest) and not _is_option_token(command, rest[i]) and _is_bool_text(rest[i]):
                values.append(rest[i])
                i += 1
            else:
                values.append(None)
        else:
            if i < len(rest) and not _is_option_token(command, rest[i]):
                values.append(rest[i])
                i += 1
            else:
                errors.append("Required argument missing for option: '%s'." % option.name)
    result, defaults = {}, []
    for option in command.options:
        values = given.get(option.name)
        if values is None:
            defaults.append(option)
            continue
        supplied = [v for v in values if v is not None]
        if len(supplied) > 1:
            errors.append("Option '%s' expects a single argument but %d were provided." % (option.name, len(supplied)))
            continue
        if not supplied:
            result[option.dest] = True if option.kind == 'bool' else None
            continue
        try:
            result[option.dest] = option.convert(supplied[0])
        except CommandLineError as exc:
            errors.extend(exc.messages)
    argument_default = None
    if command.argument is not None:
        name, argument_default = command.argument
        if arguments:
            result[name.replace('-', '_')] = arguments.pop(0)
            argument_default = None
    errors.extend("Unrecognized command or argument '%s'." % t for t in arguments)
    if errors:
        raise CommandLineError(errors)
    # defaults are computed only for a command that is going to run (some create folders)
    for option in defaults:
        result[option.dest] = option.default()
    if argument_default is not None:
        result[command.argument[0].replace('-', '_')] = argument_default()
    return command, result


def help_text(root_name, description, commands, command=None):
    lines = ['Description:', '  %s' % (command.description if command else description), '', 'Usage:']
    if command is None:
        lines += ['  %s [command] [options]' % root_name, '', 'Options:', '  --version       Show version information',
                  '  -?, -h, --help  Show help and usage information', '', 'Commands:']
        lines += ['  %-10s %s' % (c.name + (' <%s>' % c.argument[0] if c.argument else ''), c.description) for c in commands]
    else:
        arg = ' [<%s>]' % command.argument[0] if command.argument else ''
        lines += ['  %s %s%s [options]' % (root_name, command.name, arg), '', 'Options:']
        lines += ['  %-40s %s' % (o.name + ('' if o.kind == 'bool' else ' <%s>' % o.dest), o.description) for o in command.options]
        lines += ['  %-40s %s' % ('-?, -h, --help', 'Show help and usage information')]
    return '\n'.join(lines) + '\n'
