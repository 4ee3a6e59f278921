/** QR codes (the `qrcode` library) as a terminal shows them, as an SVG for pages, and as a PNG file. */
import QRCode from 'qrcode';

export function qrForTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
}

export function writeQrPng(path: string, text: string): Promise<void> {
  return QRCode.toFile(path, text, { type: 'png', width: 384, margin: 2, errorCorrectionLevel: 'M' });
}
