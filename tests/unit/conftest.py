# -*- coding: utf-8 -*-
# Copyright: duplicati.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings every unit test shares."""

from hypothesis import HealthCheck, settings

# Property tests check behaviour, not speed: on a loaded 2-core CI machine a single example
# can take longer than hypothesis' default 200 ms deadline without anything being wrong.
settings.register_profile('duplicati.fleet', deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile('duplicati.fleet')
