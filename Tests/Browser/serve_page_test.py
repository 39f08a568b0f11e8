#!/usr/bin/env python3
"""The page of `zoo serve` in a real browser: headless Chromium, driven by Selenium, through all
four panels, as a person uses them. It types a sentence and reads the translation, uploads a WAV
and reads the transcript, uploads a PNG and reads the caption, generates text, and saves a
screenshot of each panel. .ci/run runs it on every push (Debian's chromium and chromium-driver,
Selenium from PyPI in a virtual environment outside the repository).

    python3 Tests/Browser/serve_page_test.py --zoo .build/debug/zoo --screenshots /tmp/shots
    # with trained models (runs/<task>/best.safetensors) instead of tiny ones made here:
    python3 Tests/Browser/serve_page_test.py --zoo .build/release/zoo --use-runs --screenshots docs/serve

Exit status 0 when every panel answered, 1 (with the reason) otherwise.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def run(zoo, *arguments, cwd):
    result = subprocess.run([zoo, *arguments], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"zoo {' '.join(arguments)} failed:\n{result.stderr}")


def tiny_models(zoo, directory):
    """A few steps of each task's model on its built-in data: enough for the page to answer."""
    run(zoo, "train", "lm", "--steps", "3", "--eval-every", "3", "--out", "runs/language-model", cwd=directory)
    run(zoo, "train", "translation", "--steps", "3", "--eval-every", "3", "--out", "runs/translation", cwd=directory)
    run(zoo, "data", "speech", "--out", "runs/speech-data", "--utterances", "20", cwd=directory)
    run(zoo, "train", "speech", "--data", "runs/speech-data", "--steps", "3", "--eval-every", "3", "--out", "runs/speech", cwd=directory)
    run(zoo, "train", "captioning", "--steps", "3", "--eval-every", "3", "--out", "runs/captioning", cwd=directory)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_file(directory, suffix):
    for name in sorted(os.listdir(directory)):
        if name.endswith(suffix):
            return os.path.join(directory, name)
    sys.exit(f"no {suffix} file in {directory}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", default=".build/debug/zoo")
    parser.add_argument("--screenshots", default=None, help="directory for one PNG per panel")
    parser.add_argument("--use-runs", action="store_true", help="serve the models in ./runs instead of training tiny ones")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    zoo = os.path.abspath(args.zoo)

    with tempfile.TemporaryDirectory() as work:
        directory = os.getcwd() if args.use_runs else work
        if not args.use_runs:
            tiny_models(zoo, directory)
        audio = first_file(os.path.join(directory, "runs/speech-data/audio/test"), ".wav")
        image = first_file(os.path.join(directory, "runs/captioning-data/images/test"), ".png")
        port = free_port()
        server = subprocess.Popen([zoo, "serve", "--port", str(port)], cwd=directory,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            address = f"http://127.0.0.1:{port}/"
            for _ in range(100):
                try:
                    urllib.request.urlopen(address + "healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                server.kill()
                sys.exit("zoo serve did not start:\n" + server.stdout.read())
            drive(address, audio, image, args.screenshots, args.chromedriver)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("browser test: all four panels answered")


def drive(address, audio, image, screenshots, chromedriver):
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
        options.add_argument(flag)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    wait = WebDriverWait(browser, 120)
    failures = []
    try:
        browser.get(address)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".model"))
        missing = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".missing") if e.is_displayed()]
        if missing:
            failures.append(f"panels without a model: {missing}")

        def answer(output_id, action):
            output = browser.find_element(By.ID, output_id)
            action()
            wait.until(lambda b: output.text and output.text != "…" and (output_id != "lm-output" or output.get_attribute("data-done")))
            if output.text.startswith("Error"):
                failures.append(f"{output_id}: {output.text}")
            return output.text

        def shot(panel):
            if screenshots:
                os.makedirs(screenshots, exist_ok=True)
                element = browser.find_element(By.ID, panel)
                browser.execute_script("arguments[0].scrollIntoView()", element)
                element.screenshot(os.path.join(screenshots, f"{panel}.png"))

        prompt = browser.find_element(By.ID, "lm-prompt")
        prompt.clear()
        prompt.send_keys("This License")
        length = browser.find_element(By.ID, "lm-length")
        length.clear()
        length.send_keys("200")
        text = answer("lm-output", lambda: browser.find_element(By.CSS_SELECTOR, "#lm-form button").click())
        print("language model:", text[:80].replace("\n", " "))
        if not text.startswith("This License") or len(text) < 100:
            failures.append(f"the sample is not the prompt and 200 characters: {text!r}")
        shot("lm")

        sentence = browser.find_element(By.ID, "mt-text")
        sentence.clear()
        sentence.send_keys("Yesterday the children saw our dog.")
        print("translation:", answer("mt-output", lambda: browser.find_element(By.CSS_SELECTOR, "#mt-form button").click()))
        if browser.execute_script("return document.getElementById('mt-attention').width") < 100:
            failures.append("the attention map was not drawn")
        shot("translation")

        browser.find_element(By.ID, "asr-file").send_keys(audio)
        print("speech:", answer("asr-output", lambda: browser.find_element(By.CSS_SELECTOR, "#asr-form button[type=submit]").click()))
        wait.until(lambda b: b.find_element(By.ID, "asr-alignment").is_displayed())
        shot("speech")

        browser.find_element(By.ID, "cap-file").send_keys(image)
        print("captioning:", answer("cap-output", lambda: browser.find_element(By.CSS_SELECTOR, "#cap-form button").click()))
        wait.until(lambda b: b.find_element(By.ID, "cap-attention").is_displayed())
        shot("captioning")
    finally:
        browser.quit()
    if failures:
        sys.exit("browser test failed:\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    main()
