"""Distributed training on CPUs: two processes with the gloo backend run `train_distributed` (fastai's `distrib_ctx`,
DDP through Accelerate) on the small CNN and 256 bundled PneumoniaMNIST images, started by Accelerate's
`notebook_launcher` as in the lesson. The run happens in a subprocess with a hard timeout, so a stuck rendezvous or
collective fails the test instead of hanging it."""
import os, signal, socket, subprocess, sys, textwrap, time
import pytest
import torch

N_TRAIN, BS, EPOCHS, TIMEOUT = 256, 32, 2, 240

# What each of the two processes runs. `Probe` is the test's own record (independent of the library's `DistribStats`):
# the weights when training starts and after the last optimiser step, the training batches of every epoch, and the
# environment the launcher gave the process.
DRIVER = textwrap.dedent('''
    import os, sys
    from pathlib import Path
    import torch
    from fastai.callback.core import Callback
    from accelerate import notebook_launcher
    from xrayood.distributed import train_distributed

    class Probe(Callback):
        order = 99
        def before_fit(self):
            self.start = {k: v.detach().cpu().clone() for k, v in self.model.named_parameters()}
            self.batches = []
        def before_epoch(self): self.batches.append(0)
        def after_batch(self):
            if self.training: self.batches[-1] += 1
        def after_train(self): self.last = {k: v.detach().cpu().clone() for k, v in self.model.named_parameters()}

    def run(out, n_train, bs, epochs):
        p = Probe()
        res = train_distributed(out, n_train=n_train, bs=bs, epochs=epochs, cpu=True, cbs=[p])
        env = {k: os.environ.get(k) for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE')}
        torch.save(dict(res=res, start=p.start, last=p.last, batches=p.batches, env=env,
                        pid=os.getpid(), distributed=torch.distributed.is_initialized()),
                   Path(out)/f"rank{res['rank']}.pt")

    if __name__ == '__main__':
        out, port, n_train, bs, epochs = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
        notebook_launcher(run, (out, n_train, bs, epochs), num_processes=2, use_port=port)
''')

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    "Run the two-process training once; its output folder, per-rank records and wall time"
    d = tmp_path_factory.mktemp('ddp')
    (d/'driver.py').write_text(DRIVER)
    out = d/'out'
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE')
           and not k.startswith('ACCELERATE_')}
    env |= dict(MASTER_ADDR='127.0.0.1', OMP_NUM_THREADS='1', GLOO_SOCKET_IFNAME='lo', PYTHONWARNINGS='ignore')
    port = str(_free_port())
    t0 = time.time()
    p = subprocess.Popen([sys.executable, str(d/'driver.py'), str(out), port, str(N_TRAIN), str(BS), str(EPOCHS)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try: log, _ = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)          # the launcher, its agent and both ranks
        log, _ = p.communicate()
        pytest.fail(f'two-process training did not finish in {TIMEOUT} s:\n{log[-3000:]}')
    secs = time.time() - t0
    assert p.returncode == 0, log[-3000:]
    ranks = {r: torch.load(out/f'rank{r}.pt', weights_only=True) for r in (0, 1) if (out/f'rank{r}.pt').exists()}
    return out, ranks, secs, log

def test_both_ranks_ran_with_gloo(two_ranks):
    out, ranks, secs, log = two_ranks
    assert sorted(ranks) == [0, 1], log[-3000:]
    assert ranks[0]['pid'] != ranks[1]['pid']
    for r, x in ranks.items():
        assert x['distributed'] and x['res']['backend'] == 'gloo' and x['res']['device'] == 'cpu'
        assert x['env'] == {'RANK': str(r), 'LOCAL_RANK': str(r), 'WORLD_SIZE': '2'}
        assert (x['res']['rank'], x['res']['world_size']) == (r, 2)

def test_weights_synchronised_and_trained(two_ranks):
    _, ranks, _, _ = two_ranks
    a, b = ranks[0], ranks[1]
    assert a['last'].keys() == b['last'].keys() and len(a['last']) > 0
    assert all(k.startswith('module.') for k in a['last']), 'the model was not wrapped in DistributedDataParallel'
    for k in a['last']:
        assert torch.equal(a['last'][k], b['last'][k]), f'{k} differs between the ranks: gradients were not averaged'
    assert any(not torch.equal(a['start'][k], a['last'][k]) for k in a['last']), 'training did not change the weights'
    assert a['res']['weights'] == b['res']['weights']

def test_each_rank_trained_on_half(two_ranks):
    _, ranks, _, _ = two_ranks
    per_rank = N_TRAIN // 2 // BS                # one process with bs 32 would take N_TRAIN // BS = 8 batches
    for x in ranks.values():
        assert x['batches'] == [per_rank] * EPOCHS
        assert (x['res']['epoch_batches'], x['res']['epoch_items']) == (per_rank, N_TRAIN // 2)
    n_val = 524                                  # PneumoniaMNIST's val split: shared out, together seen once
    assert ranks[0]['res']['epoch_valid_items'] + ranks[1]['res']['epoch_valid_items'] == n_val
    assert ranks[0]['res']['epoch_valid_items'] == n_val // 2
    h0, h1 = ranks[0]['res']['history'], ranks[1]['res']['history']
    assert len(h0) == EPOCHS and h0 == h1, 'metrics are gathered: every rank reports the same'

def test_rank0_wrote_the_output(two_ranks):
    import json
    out, ranks, _, _ = two_ranks
    assert sorted(o.name for o in out.iterdir()) == ['history.csv', 'model.safetensors', 'rank0.pt', 'rank1.pt', 'result.json']  # no checkpoints left
    assert json.loads((out/'result.json').read_text())['rank'] == 0
    assert len((out/'history.csv').read_text().splitlines()) == EPOCHS + 1

def test_fast(two_ranks):
    _, ranks, secs, _ = two_ranks
    assert max(x['res']['seconds'] for x in ranks.values()) < 60, 'training two epochs of 256 images took too long'
    assert secs < TIMEOUT
