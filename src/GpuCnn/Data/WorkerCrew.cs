using System.Runtime.ExceptionServices;

namespace GpuCnn.Data;

/// <summary>
/// A parallel for-loop over 0..count-1 run by the calling thread and a fixed set of helper threads. Unlike
/// Parallel.For it allocates nothing per loop, which keeps the <see cref="DataLoader"/>'s steady state
/// allocation-free. One loop at a time; <see cref="Run"/> must always be called from the same thread.
/// </summary>
internal sealed class WorkerCrew : IDisposable
{
    private readonly Action<int> _body;
    private readonly Thread[] _helpers;
    private readonly object _gate = new();

    // Set under _gate while no helper is busy, so a helper that joins a loop always sees that loop's parameters.
    private int _count;
    private int _generation;
    private int _busy;          // helpers inside Work
    private bool _quit;
    private int _next;          // next index to claim (Interlocked)
    private int _errorIndex;    // lowest failing index, so the reported error does not depend on timing
    private Exception? _error;

    /// <summary>Starts <paramref name="helpers"/> background threads that run <paramref name="body"/>.</summary>
    public WorkerCrew(int helpers, Action<int> body, string name)
    {
        _body = body;
        _helpers = new Thread[helpers];
        for (int i = 0; i < helpers; i++)
        {
            _helpers[i] = new Thread(Help) { IsBackground = true, Name = $"{name} helper {i + 1}" };
            _helpers[i].Start();
        }
    }

    /// <summary>Runs body(0) .. body(count-1) in parallel and returns when all are done; rethrows the error of the lowest failing index.</summary>
    public void Run(int count)
    {
        lock (_gate)
        {
            // A helper that woke too late for the previous loop may still be leaving it.
            while (_busy > 0)
                Monitor.Wait(_gate);
            _count = count;
            _next = 0;
            _error = null;
            _errorIndex = int.MaxValue;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        Work();
        lock (_gate)
        {
            while (_busy > 0)
                Monitor.Wait(_gate);
            if (_error != null)
                ExceptionDispatchInfo.Capture(_error).Throw();
        }
    }

    /// <summary>Stops and joins the helpers; they are idle whenever no Run is in progress.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _quit = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _helpers)
            t.Join();
    }

    private void Help()
    {
        int seen = 0;
        while (true)
        {
            lock (_gate)
            {
                while (_generation == seen && !_quit)
                    Monitor.Wait(_gate);
                if (_quit)
                    return;
                seen = _generation;
                _busy++;
            }
            Work();
            lock (_gate)
            {
                _busy--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private void Work()
    {
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _count)
        {
            try
            {
                _body(i);
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    if (i < _errorIndex)
                    {
                        _errorIndex = i;
                        _error = e;
                    }
                }
            }
        }
    }
}
