"""Drivers against emulators over real serial links (a pty pair and a TCP socket).

The emulator sits at the far end of the link; the driver opens the link's URL with pyserial
exactly as it would open ``/dev/ttyUSB0`` or a serial-to-Ethernet converter.
"""

from __future__ import annotations

import os
import time

import pytest

from aiida_bigmap_al.instrument_bridge.emulators import (
    Bench,
    ConductivityCellEmulator,
    DropletCellEmulator,
    SyringePumpEmulator,
    ThermostatEmulator,
    XYZStageEmulator,
    load_model,
    serve,
)
from aiida_bigmap_al.instrument_bridge.server.drivers import (
    ConductivityCellDriver,
    DeviceError,
    DropletCellDriver,
    SyringePumpDriver,
    SyringePumpSettings,
    ThermostatDriver,
    TrafficLog,
    XYZStageDriver,
)

FAST = 1e-3
STOCK = {"density_g_ml": 1.006, "mass_fractions": {"EMC": 1.0}}


@pytest.fixture(params=["pty", "socket"])
def transport(request):
    return request.param


@pytest.fixture
def link(transport):
    """Serve an emulator over ``transport``; the links are stopped at the end."""
    links = []

    def start(device):
        link = serve(device, transport)
        links.append(link)
        return link

    yield start
    for link in links:
        link.stop()


def test_link_urls_are_real_serial_endpoints(link, transport):
    url = link(SyringePumpEmulator("PUMP1", Bench(), **STOCK, time_scale=FAST)).url
    if transport == "pty":
        assert url.startswith("/dev/pts/") and os.path.exists(url)
    else:
        assert url.startswith("socket://127.0.0.1:")


def test_pump_driver(link):
    bench = Bench()
    url = link(SyringePumpEmulator("PUMP1", bench, **STOCK, time_scale=FAST)).url
    traffic = TrafficLog()
    settings = SyringePumpSettings(stock=STOCK)
    with SyringePumpDriver("pump_emc", url, address="PUMP1", settings=settings, traffic=traffic) as driver:
        assert driver.dispense(1.25) == 1.25
    assert bench.vial.volume_ml == pytest.approx(1.25)
    lines = [(e.device, e.direction, e.line) for e in traffic.drain()]
    assert lines == [
        ("pump_emc", "TX", "PUMP1 ID"), ("pump_emc", "RX", "ID SYRINGE-PUMP PUMP1"),
        ("pump_emc", "TX", "PUMP1 DISPENSE 1.250"), ("pump_emc", "RX", "OK 1.250"),
    ]
    assert traffic.drain() == []


def test_thermostat_and_cell_drivers(link):
    bench = Bench()
    thermo_url = link(ThermostatEmulator("THERMO", bench, tau_s=1.0, noise_k=0.0, time_scale=FAST)).url
    cell_url = link(ConductivityCellEmulator("CELL", bench, load_model(None), time_scale=FAST)).url
    bench.vial.add(2.0, 1.0, {"EC": 0.12, "PC": 0.12, "EMC": 0.56, "LiPF6": 0.2})
    with ThermostatDriver("thermostat", thermo_url, address="THERMO") as thermostat, \
            ConductivityCellDriver("cell", cell_url, address="CELL") as cell:
        thermostat.set_temperature(308.15)
        time.sleep(0.05)  # 50 time constants of device time
        assert thermostat.temperature() == pytest.approx(308.15, abs=1e-3)
        assert cell.fill() == 2.0
        conductivity, temperature = cell.measure()
        assert conductivity > 0 and temperature == pytest.approx(308.15, abs=0.01)
        cell.rinse()
        with pytest.raises(DeviceError, match=r"device 'thermostat', command 'THERMO SET 500.000': 500.0 K outside"):
            thermostat.set_temperature(500.0)  # refused before it reaches the device


def test_stage_and_droplet_drivers(link):
    bench = Bench()
    stage_url = link(XYZStageEmulator("STAGE", bench, time_scale=FAST)).url
    sdc_url = link(DropletCellEmulator("SDC", bench, time_scale=FAST)).url
    with XYZStageDriver("stage", stage_url, address="STAGE") as stage, \
            DropletCellDriver("sdc", sdc_url, address="SDC") as sdc:
        assert stage.position() == (0.0, 0.0, 10.0)
        assert stage.move(12.5, 50.0, 0.0) == (12.5, 50.0, 0.0)
        assert sdc.measure() >= 0.0
        stage.move(12.5, 50.0, 5.0)
        with pytest.raises(DeviceError, match=r"device 'sdc', command 'SDC MEASURE': device reported an error: "
                                              r"no contact with the substrate"):
            sdc.measure()


def test_wrong_device_on_the_port_is_refused(link):
    url = link(ThermostatEmulator("THERMO", Bench(), time_scale=FAST)).url
    driver = SyringePumpDriver("pump_ec", url, address="THERMO", settings=SyringePumpSettings(stock=STOCK))
    with pytest.raises(DeviceError, match=r"device 'pump_ec', command 'ID': expected a SYRINGE-PUMP at address "
                                          r"THERMO, found 'ID THERMOSTAT THERMO'"):
        driver.open()
    driver.close()


def test_unreachable_port():
    driver = ThermostatDriver("thermostat", "/dev/does-not-exist", address="THERMO")
    with pytest.raises(DeviceError, match=r"device 'thermostat', command 'open': cannot open /dev/does-not-exist"):
        driver.open()


def test_garbage_reply_raises_device_error_naming_device_and_command(link):
    device = ThermostatEmulator("THERMO", Bench(), time_scale=FAST)
    url = link(device).url
    traffic = TrafficLog()
    with ThermostatDriver("thermostat", url, address="THERMO", traffic=traffic) as driver:
        device.misbehave("garbage", "GET")
        with pytest.raises(DeviceError) as info:
            driver.temperature()
        assert info.value.device == "thermostat"
        assert info.value.command == "THERMO GET"
        assert "unexpected reply" in str(info.value)
        assert traffic.drain()[-1].direction == "RX"
        driver.set_temperature(300.0)  # other commands still work


def test_silent_device_times_out_and_a_late_reply_is_not_taken_for_the_next(link):
    device = SyringePumpEmulator("PUMP1", Bench(), **STOCK, time_scale=FAST)
    url = link(device).url
    traffic = TrafficLog()
    driver = SyringePumpDriver("pump_emc", url, address="PUMP1", settings=SyringePumpSettings(stock=STOCK),
                               timeout=0.5, time_scale=FAST, traffic=traffic)
    with driver:
        device.misbehave("silent", count=1)
        start = time.monotonic()
        with pytest.raises(DeviceError, match=r"device 'pump_emc', command 'PUMP1 DISPENSE 0.500': "
                                              r"no complete reply within 0.5\d s"):
            driver.dispense(0.5)
        assert time.monotonic() - start < 3.0
        assert traffic.drain()[-1].direction == "TIMEOUT"
        assert driver.dispense(0.25) == 0.25  # recovered, and this reply is this command's


def test_slow_device_gets_its_known_working_time():
    """A dispense that takes longer than the bare timeout is still awaited (rate-based timeout)."""
    bench = Bench()
    device = SyringePumpEmulator("PUMP1", bench, **STOCK, rate_ml_min=60.0, time_scale=0.5)
    with serve(device, "pty") as link:
        settings = SyringePumpSettings(stock=STOCK, rate_ml_min=60.0)
        with SyringePumpDriver("pump", link.url, address="PUMP1", settings=settings, timeout=0.2,
                               time_scale=0.5) as driver:
            assert driver.dispense(1.0) == 1.0  # 1 s of device time = 0.5 s > 0.2 s timeout


def test_error_reply_is_a_device_error(link):
    url = link(SyringePumpEmulator("PUMP1", Bench(), **STOCK, max_volume_ml=1.0, time_scale=FAST)).url
    with SyringePumpDriver("pump", url, address="PUMP1", settings=SyringePumpSettings(stock=STOCK)) as driver:
        with pytest.raises(DeviceError, match=r"command 'PUMP1 DISPENSE 2.000': device reported an error: "
                                              r"volume 2.000 mL outside \(0, 1\] mL"):
            driver.dispense(2.0)
