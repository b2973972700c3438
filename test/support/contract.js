'use strict';
/** Every msg property the binary-sms node reads or writes: the help must document each. */
const MESSAGE_PROPERTIES = [
  'payload',
  'to',
  'from',
  'dataCoding',
  'esmClass',
  'validity',
  'sendAt',
  'callbackData',
  'flash',
  'destinationPort',
  'sourcePort',
  'messageClass',
  'udh',
  'partIds',
  'partEntries',
  'messageIds',
  'messageId',
  'bulkId',
  'parts',
  'statusCode',
];

module.exports = { MESSAGE_PROPERTIES };
