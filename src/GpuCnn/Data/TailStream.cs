namespace GpuCnn.Data;

/// <summary>Passes reads through, remembering the last 4 bytes seen (the gzip size field).</summary>
internal sealed class TailStream(Stream inner) : Stream
{
    private readonly byte[] _last = new byte[4];
    private long _total;

    public bool TryGetLast(int count, out byte[] bytes)
    {
        bytes = new byte[count];
        if (_total < count)
            return false;
        int start = (int)(_total % _last.Length);
        for (int i = 0; i < count; i++)
            bytes[i] = _last[(start + _last.Length - count + i) % _last.Length];
        return true;
    }

    // GZipStream may stop reading before the end of its input; read the rest so the tail is the file's.
    public void Drain()
    {
        Span<byte> buffer = stackalloc byte[4096];
        while (Read(buffer) > 0)
        {
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        // Only the final bytes of each read can be among the last 4 of the stream.
        for (int i = Math.Max(0, n - _last.Length); i < n; i++)
            _last[(_total + i) % _last.Length] = buffer[i];
        _total += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
